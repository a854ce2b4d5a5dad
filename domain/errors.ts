/** Failure type names used in ApplicationFailure.type, shared by workflows, activities and the CLI. */
export const FailureType = {
  /** The workflow input (spec or carried state) is invalid: never retried. */
  InvalidDemand: 'InvalidDemand',
  /** A digest run's input is invalid (mode, owner): never retried. */
  InvalidDigest: 'InvalidDigest',
  /** An update was refused: the message says why; nothing changed. */
  Rejected: 'UpdateRejected',
  /** A permanent SMTP refusal (5xx) for every recipient of a message. */
  MailRejected: 'MailRejected',
  /** A stored attachment is missing its bytes or they no longer match their sha256: never retried. */
  AttachmentMismatch: 'AttachmentMismatch',
  /** Misconfiguration in the worker (missing secret, unusable transport). */
  Configuration: 'Configuration',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];
