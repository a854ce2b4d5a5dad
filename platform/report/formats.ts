/** The three report formats, rendered from one report document: the single place CLI and workflow use. */
import { renderReportHtml } from './html';
import { renderReportMarkdown } from './markdown';
import type { ReportDocument } from './model';

export const REPORT_FORMATS = ['md', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The file name of each format, in a report folder and in a case file. */
export const REPORT_FILES: Record<ReportFormat, string> = { md: 'report.md', html: 'report.html', json: 'report.json' };

/** Renders a report document in one format (pure). */
export function renderReport(doc: ReportDocument, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  return format === 'html' ? renderReportHtml(doc) : renderReportMarkdown(doc);
}
