/** The demand specs of test/helpers moved to dev/support (shared with drills and bench). */
export * from '../../dev/support/specs';
