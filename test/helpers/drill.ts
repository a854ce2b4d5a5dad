/** What every fault drill must show, for the drill tests. */
import assert from 'node:assert/strict';
import type { DrillResult } from '../../dev/drill/drills';

/** Everything a drill must show, with what went wrong in the message. */
export function assertClean(r: DrillResult, minEmails: number): void {
  const why = JSON.stringify(
    { did: r.did, tally: r.tally, notEnded: r.notEnded, problems: r.problems, determinism: r.determinismErrors },
    null,
    1,
  );
  assert.equal(r.ended, r.demands, `every demand reaches its end\n${why}`);
  assert.equal(r.tally.lost, 0, `lost\n${why}`);
  assert.ok(r.tally.duplicated <= r.allowance, `duplicated ${r.tally.duplicated} > allowed ${r.allowance}\n${why}`);
  assert.equal(r.tally.differing, 0, `a duplicate that is not byte-identical\n${why}`);
  assert.equal(r.tally.unexpected, 0, `an email no step accounts for\n${why}`);
  assert.deepEqual(r.determinismErrors, [], why);
  assert.deepEqual(r.problems, [], why);
  assert.ok(
    r.tally.expected >= minEmails,
    `the drill sent too little to prove anything (${r.tally.expected} < ${minEmails})\n${why}`,
  );
  assert.ok(r.ok);
}
