/**
 * Writes the demand's final report when it ends, to the storage under reports/<demandId>/: report.json (the
 * versioned report document, which is also what the CLI reads once Temporal's retention has deleted the
 * workflow), report.md and report.html, all rendered from that one document.
 */
import { Context, log } from '@temporalio/activity';
import { demandWorkflowId } from '../domain/ids';
import { statusQuery } from '../domain/messages';
import type { WriteReportInput, WriteReportResult } from '../domain/contracts';
import type { EvidenceStore } from '../platform/evidence';
import { STORAGE_KEYS, type Storage } from '../platform/storage';
import { sha256Hex } from '../platform/hash';
import { expandAttachmentManifests } from '../platform/report/attachments';
import { REPORT_FILES, REPORT_FORMATS, renderReport } from '../platform/report/formats';
import { buildReport, type ReportDocument } from '../platform/report/model';

const CONTENT_TYPES: Record<(typeof REPORT_FORMATS)[number], string> = {
  json: 'application/json',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** Every evidence object a report refers to: files sent, messages, attachments and attachment manifests (each once). */
export function evidenceOf(doc: ReportDocument): string[] {
  const out = new Set<string>();
  for (const f of doc.attachments ?? []) out.add(f.sha256);
  for (const e of doc.timeline) if (e.type === 'message' && e.raw) out.add(e.raw.sha256);
  for (const item of doc.items)
    for (const a of item.answers) {
      if (a.raw) out.add(a.raw.sha256);
      if (a.attachmentManifest) out.add(a.attachmentManifest.sha256);
      for (const f of a.attachments) out.add(f.sha256);
    }
  return [...out];
}

/** Puts a legal hold on every evidence object of the report (a no-op where the storage has no Object Lock). */
async function holdEvidence(deps: { storage: Storage; evidence: EvidenceStore }, doc: ReportDocument): Promise<number> {
  if (!(await deps.storage.lockEnabled())) return 0;
  const objects = evidenceOf(doc);
  for (const sha256 of objects) await deps.storage.setLegalHold(deps.evidence.key(sha256), true);
  log.info("legal hold placed on the demand's evidence", { demandId: doc.demand.id, objects: objects.length });
  return objects.length;
}

/** Creates the report activities. */
export function createReportActivities(deps: { storage: Storage; evidence: EvidenceStore }) {
  return {
    /** Writes report.json, report.md and report.html for a demand (overwrites: the last state wins). */
    async writeReport(input: WriteReportInput): Promise<WriteReportResult> {
      const state =
        'state' in input
          ? input.state
          : await Context.current().client.workflow.getHandle(demandWorkflowId(input.demandId)).query(statusQuery);
      const doc = await expandAttachmentManifests(
        buildReport(state, { generatedAt: new Date().toISOString(), source: { kind: 'workflow' } }),
        deps.evidence,
      );
      const written = Object.fromEntries(
        await Promise.all(
          REPORT_FORMATS.map(async (format) => {
            const key = STORAGE_KEYS.report(state.demandId, REPORT_FILES[format]);
            const text = renderReport(doc, format);
            await deps.storage.put(key, Buffer.from(text), { contentType: CONTENT_TYPES[format] });
            return [format, { file: deps.storage.locate(key), sha256: sha256Hex(text) }];
          }),
        ),
      ) as Record<(typeof REPORT_FORMATS)[number], { file: string; sha256: string }>;
      log.info('report written', { demandId: state.demandId, path: written.md.file });
      // Referred for legal action: every stored object of the case stays, whatever its retention says.
      const held = state.status === 'referred' ? await holdEvidence(deps, doc) : undefined;
      return {
        ...(held !== undefined ? { legalHolds: held } : {}),
        path: written.md.file,
        jsonPath: written.json.file,
        htmlPath: written.html.file,
        sha256: written.md.sha256,
      };
    },
  };
}
