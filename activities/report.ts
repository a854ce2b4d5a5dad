/**
 * Writes the demand's final report when it ends: the full state as JSON (the record) and a readable
 * Markdown rendering, under <data>/reports/<demandId>/.
 */
import path from 'node:path';
import { log } from '@temporalio/activity';
import type { DemandState } from '../domain/state';
import { sha256Hex, writeDurably } from './evidence';
import { renderReportMarkdown } from './report-markdown';

export interface WriteReportInput {
  state: DemandState;
}

export interface WriteReportResult {
  /** The Markdown report. */
  path: string;
  jsonPath: string;
  sha256: string;
}

/** Creates the report activities. */
export function createReportActivities(deps: { reportsDir: string }) {
  return {
    /** Writes report.json and report.md for a demand (overwrites: the last state wins). */
    async writeReport(input: WriteReportInput): Promise<WriteReportResult> {
      const dir = path.join(deps.reportsDir, input.state.demandId);
      const json = `${JSON.stringify(input.state, null, 2)}\n`;
      const md = renderReportMarkdown(input.state);
      const jsonPath = path.join(dir, 'report.json');
      const mdPath = path.join(dir, 'report.md');
      writeDurably(jsonPath, json);
      writeDurably(mdPath, md);
      log.info('report written', { demandId: input.state.demandId, path: mdPath });
      return { path: mdPath, jsonPath, sha256: sha256Hex(md) };
    },
  };
}
