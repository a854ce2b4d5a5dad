/**
 * How much of a demand Temporal is asked to hold. A payload over 2 MB fails the workflow task for good
 * (and continue-as-new carries the whole state), so every input that ends up in history is bounded here,
 * and every edge (CLI, gateway, update validators) refuses what would pass these limits, naming them.
 */

/** A demand spec travels in the start input, the state, every continue-as-new and the report. */
export const SPEC_MAX_BYTES = 256 * 1024;

/** What history keeps of one inbound message, and how many a demand keeps. */
export const INBOUND_LIMITS = {
  /** Longer Message-IDs are not real mail (RFC 5322 ids are short); such a message is kept for triage. */
  messageIdChars: 250,
  subjectChars: 300,
  excerptChars: 500,
  fromNameChars: 200,
  fileNameChars: 100,
  /** Attachments listed in the signal itself; beyond this the list is a stored manifest, referenced. */
  inlineAttachments: 10,
  /** A message with more attachments than this is kept for triage as malformed (the MIME parser stops at 1,000 parts). */
  attachmentsPerMessage: 900,
  /** Verdict fields recorded with an answer, and the length of each value. */
  authFields: 12,
  authValueChars: 300,
  /** Inbound messages one demand records (answers, extension requests, out-of-office, bounces). */
  messagesPerDemand: 500,
  /** Answers kept per item, all rounds together. */
  answersPerItem: 25,
  /** Extension requests waiting for a decision at once. */
  pendingExtensionRequests: 10,
  /** The demand's whole state as JSON: a reply that would take it past this is refused (kept for triage). */
  stateBytes: 1024 * 1024,
  /** Problems kept in the state; later ones are counted. */
  problems: 100,
} as const;

/** The triage inbox's bounds: what it holds open at once, and how many handled ids it remembers for redeliveries. */
export const TRIAGE_LIMITS = {
  openEntries: 500,
  stateBytes: 1024 * 1024,
  reasonChars: 500,
  envelopeRecipients: 5,
  rememberedHandledIds: 5000,
} as const;

/**
 * Acknowledgements are automatic replies (RFC 3834): at most this many per sender and demand in an
 * hour and in a day, so that an automatic responder that ignores RFC 3834 can never keep a loop going.
 */
export const ACK_LIMITS = {
  perHour: 10,
  perDay: 30,
} as const;

/**
 * Files a demand attaches to its request and final notice (`attachments` in the spec). Most receiving
 * servers refuse a message over 25 MB as transmitted (Gmail, Microsoft 365 by default), and base64 makes
 * an attachment a third bigger again (4/3, plus a CRLF every 76 characters: x1.37), so 17 MiB of files
 * become about 24.4 MB on the wire, leaving room for the text and HTML parts. Some servers accept less
 * (10 MB is common on older Exchange): a counterparty that refuses the message gets it recorded as refused.
 */
export const ATTACHMENT_LIMITS = {
  /** Files listed in one spec. */
  files: 10,
  /** One file, read and stored whole by the CLI. */
  fileBytes: 10 * 1024 * 1024,
  /** All the files one message (the request, or the final notice) carries together. */
  messageBytes: 17 * 1024 * 1024,
  /** The attachment's name as the recipient sees it. */
  nameChars: 100,
} as const;
