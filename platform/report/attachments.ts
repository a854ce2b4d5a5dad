/**
 * Attachments that were too many to list in history are referenced by a stored manifest (see
 * INBOUND_LIMITS.inlineAttachments). The report lists every one of them, so before a report is rendered
 * each referenced manifest is read from the evidence store and its list put in place.
 */
import type { EvidenceStore } from '../evidence';
import type { EvidenceRef } from '../../domain/state';
import type { ReportDocument } from './model';

function isRef(v: unknown): v is EvidenceRef {
  const r = v as EvidenceRef;
  return !!r && typeof r.sha256 === 'string' && /^[a-f0-9]{64}$/.test(r.sha256) && Number.isInteger(r.size);
}

/** Reads one stored attachment manifest; throws with the hash when it is missing or not a manifest. */
export async function readAttachmentManifest(store: EvidenceStore, sha256: string): Promise<EvidenceRef[]> {
  const parsed = JSON.parse((await store.get(sha256)).toString('utf8')) as { format?: string; attachments?: unknown[] };
  if (
    parsed.format !== 'auditflow-attachments' ||
    !Array.isArray(parsed.attachments) ||
    !parsed.attachments.every(isRef)
  )
    throw new Error(`evidence ${sha256} is not an attachment manifest`);
  return parsed.attachments;
}

/** The document with every answer's attachments listed in full; a manifest that cannot be read is left referenced (and noted). */
export async function expandAttachmentManifests(doc: ReportDocument, store: EvidenceStore): Promise<ReportDocument> {
  const problems = [...doc.problems];
  const items = await Promise.all(
    doc.items.map(async (item) => ({
      ...item,
      answers: await Promise.all(
        item.answers.map(async (a) => {
          if (!a.attachmentManifest || a.attachments.length > 0) return a;
          try {
            return { ...a, attachments: await readAttachmentManifest(store, a.attachmentManifest.sha256) };
          } catch (err) {
            problems.push({
              at: doc.generatedAt,
              source: `report of ${item.id}`,
              message: `the attachment list of answer ${a.id} (${a.attachmentManifest.count} attachments) could not be read: ${(err as Error).message}`,
            });
            return a;
          }
        }),
      ),
    })),
  );
  return { ...doc, items, problems };
}
