/**
 * Files a demand sends with its request and, optionally, its final notice. The spec names local files;
 * the CLI reads and hashes them at `start`, stores the bytes content-addressed in the shared storage, and
 * hands the workflow only references (name, sha256, size, type), so no file ever enters a history.
 */
import { z } from 'zod';
import { ATTACHMENT_LIMITS } from './limits';

// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const UNSAFE_NAME = /[\u0000-\u001f\u007f/\\]/;

/** The messages a file can go with. */
export const AttachTo = z.enum(['request', 'final-notice'], { error: 'must be request or final-notice' });
export type AttachTo = z.infer<typeof AttachTo>;

/** One file to attach, as written in the spec: `{ file, name?, attachTo? }`, the path relative to the spec file. */
export const AttachmentSpec = z.strictObject({
  file: z
    .string({ error: 'must be a file path' })
    .trim()
    .min(1, 'must not be empty')
    .max(1000, 'must be at most 1000 characters')
    // eslint-disable-next-line no-control-regex -- a path with control characters is a mistake, or an attack on a terminal
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters'),
  /** The file name the recipient sees (default: the file's own name). */
  name: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').optional(),
  attachTo: z.array(AttachTo).min(1, 'must have at least 1 entry').default(['request']),
});
export type AttachmentSpec = z.infer<typeof AttachmentSpec>;

/** The spec's `attachments` list. */
export const AttachmentList = z
  .array(AttachmentSpec)
  .max(ATTACHMENT_LIMITS.files, `must have at most ${ATTACHMENT_LIMITS.files} entries`);

/** What the workflow input, the state and a send carry for one file: a reference to its stored bytes. */
export interface AttachmentRef {
  name: string;
  /** sha256 of the bytes (hex): their key in the evidence store. */
  sha256: string;
  size: number;
  contentType: string;
  attachTo: AttachTo[];
}

/** The name a file goes out under: its `name`, else the last part of its path. */
export function attachmentName(a: Pick<AttachmentSpec, 'file' | 'name'>): string {
  return a.name ?? a.file.split(/[\\/]/).filter(Boolean).pop() ?? a.file;
}

/** "the request and the final notice": the messages a file goes with, in words. */
export function sentWith(attachTo: readonly AttachTo[]): string {
  return attachTo.map((k) => `the ${k.replace('-', ' ')}`).join(' and ');
}

/** Cross-field rules: names the recipient can tell apart and save, and a final notice to attach to. */
export function attachmentProblems(
  attachments: readonly AttachmentSpec[],
  escalation: readonly { message: string }[],
): { path: PropertyKey[]; message: string }[] {
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const seen = new Map<string, number>();
  const hasFinalNotice = escalation.some((s) => s.message === 'final-notice');
  attachments.forEach((a, i) => {
    const name = attachmentName(a);
    const where = a.name === undefined ? ['attachments', i, 'file'] : ['attachments', i, 'name'];
    if (UNSAFE_NAME.test(name) || name.length > ATTACHMENT_LIMITS.nameChars)
      problems.push({
        path: where,
        message: `the attachment name "${name.slice(0, 60)}" must be at most ${ATTACHMENT_LIMITS.nameChars} characters without / \\ or control characters; set name:`,
      });
    const first = seen.get(name.toLowerCase());
    if (first !== undefined)
      problems.push({
        path: where,
        message: `"${name}" is already the name of attachments[${first}]; the recipient could not tell them apart (set name:)`,
      });
    else seen.set(name.toLowerCase(), i);
    if (a.attachTo.includes('final-notice') && !hasFinalNotice)
      problems.push({
        path: ['attachments', i, 'attachTo'],
        message:
          'no escalation step sends a final notice (message: final-notice); remove final-notice or add such a step',
      });
  });
  return problems;
}

/** The references a message of this kind carries (only the request and the final notice carry files). */
export function attachmentsFor(refs: readonly AttachmentRef[] | undefined, kind: string): AttachmentRef[] {
  if (kind !== 'request' && kind !== 'final-notice') return [];
  return (refs ?? []).filter((r) => r.attachTo.includes(kind));
}

/**
 * Checks a workflow input's references against its spec: one per listed file, in order, with its name and
 * attachTo, and a well-formed digest. A demand started without them (not through the CLI) cannot send its files.
 */
export function refProblems(
  attachments: readonly AttachmentSpec[],
  refs: readonly AttachmentRef[] | undefined,
): string[] {
  if (attachments.length === 0 && !refs?.length) return [];
  if (!refs || refs.length !== attachments.length)
    return [
      `the spec lists ${attachments.length} attachment(s) but the start input carries ${refs?.length ?? 0} stored reference(s); start it with auditflow start, which stores the files`,
    ];
  return attachments.flatMap((a, i) => {
    const r = refs[i]!;
    const ok =
      r.name === attachmentName(a) &&
      /^[a-f0-9]{64}$/.test(r.sha256) &&
      Number.isInteger(r.size) &&
      r.size > 0 &&
      r.attachTo.join() === a.attachTo.join();
    return ok ? [] : [`attachments[${i}]: the stored reference does not match the spec's entry`];
  });
}
