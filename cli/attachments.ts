/**
 * The spec's `attachments`, read from disk for `validate`, `start` and `plan`: each path (relative to the
 * spec file, or absolute) must be a readable, non-empty regular file within ATTACHMENT_LIMITS. `start`
 * then stores the bytes content-addressed in the shared storage, where any worker reads them back by hash.
 */
import fs from 'node:fs';
import path from 'node:path';
import { attachmentName, type AttachmentRef } from '../domain/attachments';
import type { DemandSpec, SpecProblem } from '../domain/demand';
import { ATTACHMENT_LIMITS } from '../domain/limits';
import type { EvidenceStore } from '../platform/evidence';
import { sha256Hex } from '../platform/hash';
import { readBounded, readSpecFile, type SpecResult } from './spec-file';

/** A file read for a demand: its reference and its bytes. */
export interface LocalAttachment {
  ref: AttachmentRef;
  bytes: Buffer;
  /** Where it was read from. */
  path: string;
}

const TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.zip': 'application/zip',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.odt': 'application/vnd.oasis.opendocument.text',
};

/** The MIME type a file goes out as, from its name (unknown kinds as plain bytes). */
export function contentTypeOf(name: string): string {
  return TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
/** A size against its limit: in MiB, or in bytes when both would read the same in MiB (a byte over). */
const overLimit = (bytes: number, limit: number) =>
  mib(bytes) === mib(limit)
    ? `${bytes.toLocaleString('en-US')} bytes, over the limit of ${limit.toLocaleString('en-US')} bytes (${mib(limit)})`
    : `${mib(bytes)}, over the limit of ${mib(limit)}`;

/** Reads one file, or says what is wrong with it (naming it and what to do). */
function readOne(abs: string): { bytes: Buffer } | { problem: string } {
  let stat: fs.Stats;
  try {
    // stat follows a symbolic link: what counts is the file it names.
    stat = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `no such file: ${abs}` : `cannot read ${abs}: ${(err as Error).message}` };
  }
  if (stat.isDirectory()) return { problem: `${abs} is a folder; name a file` };
  // A device or a pipe could block or never end: only regular files are attached.
  if (!stat.isFile()) return { problem: `${abs} is not a regular file (a device, pipe or socket); name a file` };
  if (stat.size > ATTACHMENT_LIMITS.fileBytes) return { problem: tooBig(abs, stat.size) };
  let bytes: Buffer;
  try {
    bytes = readBounded(abs, ATTACHMENT_LIMITS.fileBytes);
  } catch (err) {
    return { problem: `cannot read ${abs}: ${(err as Error).message}` };
  }
  if (bytes.length > ATTACHMENT_LIMITS.fileBytes) return { problem: tooBig(abs, bytes.length) };
  if (bytes.length === 0) return { problem: `${abs} is empty; attach a file with content` };
  return { bytes };
}

function tooBig(abs: string, size: number): string {
  return (
    `${abs} is ${overLimit(size, ATTACHMENT_LIMITS.fileBytes)} per file: ` +
    'receiving servers refuse large messages (25 MB on the wire is common, and base64 adds a third); ' +
    'compress it, split it, or send a link to it in the basis or an item description instead'
  );
}

/**
 * Reads and hashes every file the spec lists. Problems name the spec field (`attachments[0].file`) and the
 * file; a message whose files together pass ATTACHMENT_LIMITS.messageBytes is a problem on `attachments`.
 */
export function readAttachments(
  spec: DemandSpec,
  specFile: string,
): { attachments: LocalAttachment[]; problems: SpecProblem[] } {
  const base = path.dirname(path.resolve(specFile));
  const attachments: LocalAttachment[] = [];
  const problems: SpecProblem[] = [];
  (spec.attachments ?? []).forEach((a, i) => {
    const abs = path.resolve(base, a.file);
    const read = readOne(abs);
    if ('problem' in read) return problems.push({ path: `attachments[${i}].file`, message: read.problem });
    const name = attachmentName(a);
    attachments.push({
      path: abs,
      bytes: read.bytes,
      ref: {
        name,
        sha256: sha256Hex(read.bytes),
        size: read.bytes.length,
        contentType: contentTypeOf(name),
        attachTo: a.attachTo,
      },
    });
  });
  for (const kind of ['request', 'final-notice'] as const) {
    const total = attachments.filter((a) => a.ref.attachTo.includes(kind)).reduce((n, a) => n + a.ref.size, 0);
    if (total > ATTACHMENT_LIMITS.messageBytes)
      problems.push({
        path: 'attachments',
        message:
          `the files attached to the ${kind} total ${overLimit(total, ATTACHMENT_LIMITS.messageBytes)} per message ` +
          '(a message over 25 MB as sent is refused by most servers, and base64 adds a third): attach fewer files or send links',
      });
  }
  return { attachments, problems };
}

/** Stores each file in the evidence store (content-addressed, idempotent); returns the references for the workflow. */
export async function storeAttachments(
  store: EvidenceStore,
  attachments: readonly LocalAttachment[],
): Promise<AttachmentRef[]> {
  for (const a of attachments) {
    const stored = await store.put(a.bytes, { contentType: a.ref.contentType, filename: a.ref.name });
    if (stored.sha256 !== a.ref.sha256) throw new Error(`${a.path} changed while it was stored; start again`);
  }
  return attachments.map((a) => a.ref);
}

/** A spec read and checked with its files: `readSpecFile`, then every attachment read, hashed and bounded. */
export type SpecWithFiles =
  { ok: true; spec: DemandSpec; file: string; attachments: LocalAttachment[] } | Extract<SpecResult, { ok: false }>;

/** What `validate`, `start` and `plan` read: the spec, and the files it attaches (a bad file is a problem of the spec). */
export function readSpecWithFiles(file: string): SpecWithFiles {
  const r = readSpecFile(file);
  if (!r.ok) return r;
  const { attachments, problems } = readAttachments(r.spec, file);
  return problems.length ? { ok: false, file, problems } : { ...r, attachments };
}
