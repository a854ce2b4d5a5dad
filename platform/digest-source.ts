/**
 * Reads what the digest needs: the running demands of a task queue (visibility list, then each one's status
 * query, cut down to the digest's extract) and the messages waiting in that queue's triage inbox. The digest
 * activity reads with the worker's client, `auditflow digest --dry-run` with the CLI's: the same namespace
 * and the same data converter (payloads may be encrypted).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { digestDemandOf, isQuiet, type DigestDemand, type DigestSources, type DigestTriage } from '../domain/digest';
import { demandIdFromWorkflowId } from '../domain/ids';
import { statusQuery } from '../domain/messages';
import { inboxQuery, inboxWorkflowId } from '../domain/triage';

const DEMAND_WORKFLOW_TYPE = 'auditDemandWorkflow';
/** Status queries in flight at once: enough to read hundreds of demands in seconds, gentle on the server. */
const CONCURRENCY = 8;

/** A string literal for a visibility query: escaped, so a value can never change the query. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** True when the server does not implement the call (gRPC UNIMPLEMENTED, somewhere in the cause chain). */
function isUnimplemented(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === 12) return true;
  return false;
}

/**
 * Workflow ids of the running demands on the task queue. Servers without advanced visibility (the
 * time-skipping test server implements no visibility query) are asked the older open-executions list.
 */
export async function runningDemandIds(client: Client, taskQueue: string): Promise<string[]> {
  const query = `WorkflowType = ${quoted(DEMAND_WORKFLOW_TYPE)} AND ExecutionStatus = "Running" AND TaskQueue = ${quoted(taskQueue)}`;
  const ids: string[] = [];
  try {
    for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
    return ids;
  } catch (err) {
    if (!isUnimplemented(err)) throw err;
  }
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listOpenWorkflowExecutions({
      namespace: client.options.namespace,
      maximumPageSize: 500,
      typeFilter: { name: DEMAND_WORKFLOW_TYPE },
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    // Filtered here as well: not every server applies the type filter.
    for (const e of page.executions ?? []) {
      const id = e.execution?.workflowId;
      if (id && e.type?.name === DEMAND_WORKFLOW_TYPE && (!e.taskQueue || e.taskQueue === taskQueue)) ids.push(id);
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return ids;
}

/** The messages waiting in the queue's triage inbox (none when no message was ever kept). */
async function openTriage(client: Client, taskQueue: string): Promise<DigestTriage[]> {
  let entries;
  try {
    entries = (await client.workflow.getHandle(inboxWorkflowId(taskQueue)).query(inboxQuery)).entries;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
  return entries
    .filter((e) => e.status === 'open')
    .map((e) => ({
      id: e.id,
      receivedAt: e.receivedAt,
      reason: e.reason,
      ...(e.from ? { from: e.from } : {}),
      ...(e.subject ? { subject: e.subject } : {}),
      ...(e.hint?.demandId ? { demandId: e.hint.demandId } : {}),
    }));
}

/**
 * The digest's sources at `now`: running demands that have something for an owner (or that a triage
 * message names), and the open triage messages. A demand whose state cannot be read is named in
 * `unreadable` and left out, so one broken demand does not stop everyone's digest.
 */
export async function collectDigestSources(
  client: Client,
  taskQueue: string,
  now: number,
): Promise<{ sources: DigestSources; unreadable: string[] }> {
  const [ids, triage] = await Promise.all([runningDemandIds(client, taskQueue), openTriage(client, taskQueue)]);
  const named = new Set(triage.map((t) => t.demandId));
  const demands: DigestDemand[] = [];
  const unreadable: string[] = [];
  const queue = [...ids];
  const readOne = async (workflowId: string) => {
    try {
      const extract = digestDemandOf(await client.workflow.getHandle(workflowId).query(statusQuery), now);
      if (extract && (!isQuiet(extract) || named.has(extract.demandId))) demands.push(extract);
    } catch (err) {
      unreadable.push(`${demandIdFromWorkflowId(workflowId) ?? workflowId}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await readOne(id);
    }),
  );
  demands.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.demandId.localeCompare(b.demandId));
  return { sources: { demands, triage }, unreadable: unreadable.sort() };
}
