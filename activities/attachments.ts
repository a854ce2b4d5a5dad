/**
 * The files an outgoing message carries: read by reference (from the shared storage when sending, from the
 * local copies in a `plan` preview), checked against their sha256, and listed for the templates.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { AttachmentRef } from '../domain/attachments';
import type { SendEmailInput } from '../domain/contracts';
import { FailureType } from '../domain/errors';
import { sha256Hex } from '../platform/hash';

/** Reads an attachment's bytes by reference: from the evidence store when sending, from the local file in a preview. */
export type AttachmentReader = (ref: AttachmentRef) => Promise<Buffer | undefined>;

/**
 * The files a message carries, read by reference and checked against their sha256. Bytes that are gone
 * or changed would send the counterparty something other than what the demand recorded: nothing is sent,
 * and the send fails naming the file and where to restore it from. It fails retryably: the demand must
 * not die of a storage fault, so Temporal retries the send (with backoff, the error shown on the pending
 * activity in the UI) until the object is restored, and the demand then goes on by itself.
 */
export async function readAttachments(refs: readonly AttachmentRef[], read: AttachmentReader | undefined) {
  const files = [];
  for (const ref of refs) {
    const bytes = read ? await read(ref) : undefined;
    const actual = bytes ? sha256Hex(bytes) : undefined;
    if (!bytes || actual !== ref.sha256)
      throw ApplicationFailure.retryable(
        `attachment "${ref.name}" (sha256 ${ref.sha256}, ${ref.size} bytes) ${bytes ? `is damaged in storage (its bytes hash to ${actual})` : 'is missing from the evidence store'}; restore the object from a backup of the shared storage: the send is retried until it can go`,
        FailureType.AttachmentMismatch,
      );
    files.push({
      filename: ref.name,
      content: bytes,
      contentType: ref.contentType,
      contentDisposition: 'attachment' as const,
    });
  }
  return files;
}

/** What the templates list of a message's files: name, size and sha256 (absent when it carries none). */
export function fileList(input: SendEmailInput): { attachments?: { name: string; size: number; sha256: string }[] } {
  return input.attachments?.length
    ? { attachments: input.attachments.map(({ name, size, sha256 }) => ({ name, size, sha256 })) }
    : {};
}
