/**
 * Writes the demand's final report when it ends, under <data>/reports/<demandId>/: report.json (the
 * versioned report document, which is also what the CLI reads once Temporal's retention has deleted the
 * workflow), report.md and report.html, all rendered from that one document.
 */
import path from 'node:path';
import { log } from '@temporalio/activity';
import type { WriteReportInput, WriteReportResult } from '../domain/contracts';
import { writeDurably, type EvidenceStore } from '../platform/evidence';
import { sha256Hex } from '../platform/hash';
import { expandAttachmentManifests } from '../platform/report/attachments';
import { REPORT_FILES, REPORT_FORMATS, renderReport } from '../platform/report/formats';
import { buildReport } from '../platform/report/model';

/** Creates the report activities. */
export function createReportActivities(deps: { reportsDir: string; evidence: EvidenceStore }) {
  return {
    /** Writes report.json, report.md and report.html for a demand (overwrites: the last state wins). */
    async writeReport(input: WriteReportInput): Promise<WriteReportResult> {
      const dir = path.join(deps.reportsDir, input.state.demandId);
      const doc = await expandAttachmentManifests(
        buildReport(input.state, { generatedAt: new Date().toISOString(), source: { kind: 'workflow' } }),
        deps.evidence,
      );
      const written = Object.fromEntries(
        REPORT_FORMATS.map((format) => {
          const file = path.join(dir, REPORT_FILES[format]);
          const text = renderReport(doc, format);
          writeDurably(file, text);
          return [format, { file, sha256: sha256Hex(text) }];
        }),
      ) as Record<(typeof REPORT_FORMATS)[number], { file: string; sha256: string }>;
      log.info('report written', { demandId: input.state.demandId, path: written.md.file });
      return {
        path: written.md.file,
        jsonPath: written.json.file,
        htmlPath: written.html.file,
        sha256: written.md.sha256,
      };
    },
  };
}
