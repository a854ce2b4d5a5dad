/**
 * Builds a case file from a report document and the evidence store: the report in three formats, every
 * stored .eml (sent and received, in timeline order) and every attachment under readable names, plus
 * the hash-chained manifest. A stored object that is missing or damaged is an error naming it: a case
 * file is never produced incomplete.
 */
import { sentWith } from '../../domain/attachments';
import type { EvidenceStore } from '../../platform/evidence';
import { REPORT_FILES, REPORT_FORMATS, renderReport } from '../../platform/report/formats';
import type { ReportDocument } from '../../platform/report/model';
import type { EvidenceRef } from '../../domain/state';
import { CliError } from '../output';
import { buildManifest, MANIFEST_PATH, type Manifest } from './manifest';
import { writeTarGz, type TarFile } from './tar';

/** A file planned for the case file: bytes given, or a stored object to fetch. */
interface Planned {
  path: string;
  describes: string;
  data?: Buffer;
  ref?: EvidenceRef;
}

/** A name safe in any file system and archive tool: letters, digits and . _ - @ + only, at most `max` characters. */
export function safeName(name: string, max = 80): string {
  const cleaned = name
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._@+-]+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+/g, '_');
  if (cleaned.length <= max) return cleaned || 'file';
  const ext = /\.[A-Za-z0-9]{1,8}$/.exec(cleaned)?.[0] ?? '';
  return cleaned.slice(0, max - ext.length) + ext;
}

/** Gives `name` a -2, -3 ... suffix (before the extension) until it is not taken. */
function unique(taken: Set<string>, p: string): string {
  let candidate = p;
  for (let n = 2; taken.has(candidate); n++) candidate = p.replace(/(\.[^./]+)?$/, (ext) => `-${n}${ext}`);
  taken.add(candidate);
  return candidate;
}

/** Every file of the case file, in manifest order: reports, mail, attachments received, files sent. */
function plan(doc: ReportDocument): Planned[] {
  const out: Planned[] = REPORT_FORMATS.map((f) => ({
    path: `reports/${REPORT_FILES[f]}`,
    describes: `report (${f})`,
    data: Buffer.from(renderReport(doc, f)),
  }));
  const taken = new Set(out.map((p) => p.path));
  const mailSeen = new Set<string>();
  let n = 0;
  const addMail = (ref: EvidenceRef, label: string, describes: string) => {
    if (mailSeen.has(ref.sha256)) return;
    mailSeen.add(ref.sha256);
    n += 1;
    out.push({ path: unique(taken, `mail/${String(n).padStart(4, '0')}-${safeName(label, 70)}.eml`), describes, ref });
  };
  for (const e of doc.timeline) {
    if (e.type !== 'message' || !e.raw) continue;
    const party = e.direction === 'out' ? (e.to ?? []).join(',') : (e.from ?? 'unknown');
    addMail(
      e.raw,
      `${e.direction === 'out' ? 'sent' : 'received'}-${e.kind}-${party}`,
      `mail ${e.direction === 'out' ? 'sent' : 'received'} ${e.at} ${e.kind}${e.messageId ? ` ${e.messageId}` : ''}`,
    );
  }
  for (const item of doc.items) {
    for (const a of item.answers) {
      if (a.raw)
        addMail(
          a.raw,
          `received-answer-${item.id}`,
          `mail received ${a.receivedAt} answer on ${item.id}${a.messageId ? ` ${a.messageId}` : ''}`,
        );
      const seen = new Set<string>();
      for (const f of a.attachments) {
        if (seen.has(f.sha256)) continue;
        seen.add(f.sha256);
        const name = f.filename ? safeName(f.filename) : `attachment-${f.sha256.slice(0, 12)}`;
        out.push({
          path: unique(taken, `attachments/${safeName(item.id, 40)}/${name}`),
          describes: `attachment of answer ${a.id} on ${item.id}${f.filename ? ` named ${JSON.stringify(f.filename)}` : ''}`,
          ref: f,
        });
      }
    }
  }
  // The files the demand sent: under their own folder, so they cannot be mistaken for what came back.
  for (const f of doc.attachments ?? [])
    out.push({
      path: unique(taken, `files-sent/${safeName(f.name)}`),
      describes: `file sent with ${sentWith(f.attachTo)} named ${JSON.stringify(f.name)}`,
      ref: { sha256: f.sha256, size: f.size, contentType: f.contentType, filename: f.name },
    });
  return out;
}

/** A built case file: the archive's bytes and its manifest. */
export interface CaseFile {
  archive: Buffer;
  manifest: Manifest;
  files: TarFile[];
}

/** Fetches every stored object and builds the archive; throws a CliError listing each missing object. */
export async function buildCaseFile(doc: ReportDocument, store: EvidenceStore, createdAt: Date): Promise<CaseFile> {
  const planned = plan(doc);
  const missing: string[] = [];
  const files: (TarFile & { describes: string })[] = [];
  for (const p of planned) {
    let data = p.data;
    if (!data && p.ref) {
      try {
        if (!(await store.has(p.ref.sha256))) throw new Error(`not found at ${store.locate(p.ref.sha256)}`);
        data = await store.get(p.ref.sha256);
      } catch (err) {
        missing.push(`  ${p.path}: evidence object ${p.ref.sha256} (${p.describes}) ${(err as Error).message}`);
        continue;
      }
    }
    files.push({ path: p.path, data: data!, describes: p.describes });
  }
  if (missing.length) {
    throw new CliError(
      `cannot export demand "${doc.demand.id}": ${missing.length} stored object(s) missing or damaged in the evidence store, so the case file would be incomplete:\n${missing.join('\n')}\nRestore them from a backup of the data folder (AUDITFLOW_DATA_DIR), then export again.`,
    );
  }
  // The header goes into the chain's genesis (manifest version 2), so verify can show it as fact.
  const manifest: Manifest = buildManifest(
    { demandId: doc.demand.id, createdAt: createdAt.toISOString(), source: doc.source.kind },
    files,
  );
  const all: TarFile[] = [
    ...files.map(({ path, data }) => ({ path, data })),
    { path: MANIFEST_PATH, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
  ];
  return { archive: writeTarGz(all, createdAt), manifest, files: all };
}
