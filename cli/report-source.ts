/**
 * Where `report` and `export` get a demand's report document: the workflow's status query while
 * Temporal still has the workflow, else the report.json the workflow wrote when it ended (under
 * reports/<demandId>/ in the storage, readable from any machine with the storage settings), saying so.
 */
import { WorkflowNotFoundError } from '@temporalio/common/lib/errors';
import { createEvidenceStore } from '../platform/evidence';
import { STORAGE_KEYS, type Storage } from '../platform/storage';
import { expandAttachmentManifests } from '../platform/report/attachments';
import { REPORT_FILES } from '../platform/report/formats';
import { asReportDocument, buildReport, type ReportDocument } from '../platform/report/model';
import { demandWorkflowId, STATUS_QUERY_NAME } from '../domain/ids';
import type { DemandStatusView } from '../domain/state';
import type { ReaderContext } from './client';
import { notFound } from './demands';
import { CliError } from './output';
import { notStartedDemand, notStartedRefusal } from './scheduled';

/** A loaded report and, when it came from the stored final report, why. */
export interface LoadedReport {
  doc: ReportDocument;
  /** Set when the workflow could not be used: what happened, for a note to the user. */
  fallback?: string;
}

async function readFinalReport(storage: Storage, key: string, demandId: string, note: string): Promise<LoadedReport> {
  const file = storage.locate(key);
  let parsed: unknown;
  try {
    const found = await storage.get(key);
    if (!found) throw new Error('it is not there');
    parsed = JSON.parse(found.body.toString('utf8'));
  } catch (err) {
    throw new CliError(`${note}, and its final report ${file} cannot be read: ${(err as Error).message}`);
  }
  const checked = asReportDocument(parsed);
  if (!checked.ok) throw new CliError(`${note}, and ${file} is not a report auditflow can read (${checked.reason})`);
  if (checked.doc.demand.id !== demandId)
    throw new CliError(`${file} is the report of demand "${checked.doc.demand.id}", not "${demandId}"`);
  return {
    doc: { ...checked.doc, source: { kind: 'final-report', path: file, note } },
    fallback: `${note}; using the final report written when it ended (${file}, generated ${checked.doc.generatedAt})`,
  };
}

/** The demand's report document, from Temporal or from the stored final report. */
export async function loadReport(ctx: ReaderContext, demandId: string): Promise<LoadedReport> {
  const key = STORAGE_KEYS.report(demandId, REPORT_FILES.json);
  const stored = () => ctx.storage.exists(key);
  const workflowId = demandWorkflowId(demandId);
  let running: boolean;
  try {
    const desc = await ctx.reader.describe(workflowId);
    const notStarted = await notStartedDemand(ctx, demandId, desc);
    if (notStarted)
      throw new CliError(
        notStartedRefusal(notStarted, 'there is nothing to report until it starts', 'there is nothing to report'),
      );
    running = desc.status.name === 'RUNNING';
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    if (!(await stored())) throw notFound(demandId);
    return readFinalReport(
      ctx.storage,
      key,
      demandId,
      `demand "${demandId}" is no longer in Temporal (its history was deleted, e.g. by the namespace's retention)`,
    );
  }
  try {
    // An ended workflow answers queries only through a worker; do not wait long for one.
    const state = await ctx.reader.query<DemandStatusView>(workflowId, STATUS_QUERY_NAME, running ? 30_000 : 10_000);
    const doc = buildReport(state, { generatedAt: new Date().toISOString(), source: { kind: 'workflow' } });
    return { doc: await expandAttachmentManifests(doc, createEvidenceStore(ctx.storage)) };
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    if (!running && (await stored()))
      return readFinalReport(
        ctx.storage,
        key,
        demandId,
        `demand "${demandId}" has ended and its state could not be queried (${why})`,
      );
    throw new CliError(
      `could not read the state of demand "${demandId}": ${why}\nIs a worker running? (npx auditflow doctor)`,
    );
  }
}
