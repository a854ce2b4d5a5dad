/** Shared plumbing of the demand commands: handles, updates with clear refusals, who is acting. */
import os from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common/lib/errors';
import type { UpdateDefinition } from '@temporalio/common';
import { DemandSpec } from '../domain/demand';
import { demandWorkflowId, STATUS_QUERY_NAME } from '../domain/ids';
import type { UpdateResult } from '../domain/messages';
import type { DemandStatusView } from '../domain/state';
import type { WorkflowSummary } from '../platform/temporal-read';
import type { CliContext, ReaderContext } from './client';
import { CliError, Exit, printJson, safeBlock } from './output';
import { notStartedDemand, notStartedRefusal } from './scheduled';

/** Who is acting: --by, else the OS user at this host. */
export function actor(by?: string): string {
  if (by && by.trim()) return by.trim();
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return 'unknown';
  }
}

/**
 * Refuses a demand id from the command line that the spec's id rule refuses, before it is used at all:
 * ids become file paths (reports/<id>/) and workflow ids, and `../../etc` must reach neither.
 */
export function checkDemandId(value: string, argument = 'demandId'): string {
  const checked = DemandSpec.shape.id.safeParse(value);
  if (checked.success) return value;
  // JSON quoting shows control characters as escapes; a very long value is cut, not echoed whole.
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  throw new CliError(
    `${argument} ${shown} is not a demand id: ${checked.error.issues[0]?.message ?? 'see README, "The demand spec"'}`,
    Exit.invalid,
  );
}

/** The refusal for a demand Temporal does not know. */
export function notFound(demandId: string): CliError {
  return new CliError(`demand "${demandId}" not found; list demands with: npx auditflow list`);
}

/** The demand's workflow description; a demand Temporal does not know is refused. */
export async function describeDemand(ctx: Pick<ReaderContext, 'reader'>, demandId: string): Promise<WorkflowSummary> {
  try {
    return await ctx.reader.describe(demandWorkflowId(demandId));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(demandId);
    throw err;
  }
}

/** The demand's workflow handle, after checking it exists. */
export async function demandHandle(ctx: CliContext, demandId: string): Promise<WorkflowHandle> {
  await describeDemand(ctx, demandId);
  return ctx.client.workflow.getHandle(demandWorkflowId(demandId));
}

/** The status query's view of a demand whose workflow has run. */
export async function queryStatus(ctx: Pick<ReaderContext, 'reader'>, demandId: string): Promise<DemandStatusView> {
  try {
    return await ctx.reader.query<DemandStatusView>(demandWorkflowId(demandId), STATUS_QUERY_NAME);
  } catch (err) {
    throw new CliError(
      `could not read the state of demand "${demandId}": ${(err as Error).message}\nIs a worker running? (npx auditflow doctor)`,
    );
  }
}

/** The status query's view of a demand; refused, without asking the workflow, for one that has not started. */
export async function fetchStatus(ctx: Pick<ReaderContext, 'reader'>, demandId: string): Promise<DemandStatusView> {
  const desc = await describeDemand(ctx, demandId);
  const notStarted = await notStartedDemand(ctx, demandId, desc);
  if (notStarted) throw new CliError(notStartedRefusal(notStarted, 'it has no state yet', 'it has no state'));
  return queryStatus(ctx, demandId);
}

/** Sends an update; a refusal by the workflow becomes a CliError carrying its reason. */
export async function sendUpdate<I>(
  ctx: CliContext,
  demandId: string,
  def: UpdateDefinition<UpdateResult, [I]>,
  input: I,
): Promise<UpdateResult> {
  const desc = await describeDemand(ctx, demandId);
  const notStarted = await notStartedDemand(ctx, demandId, desc);
  // Temporal runs a delayed workflow as soon as it gets an update: the requests would go out now, not at --at.
  if (notStarted) throw new CliError(notStartedRefusal(notStarted, 'nothing can change it before it starts'));
  if (desc.status.name !== 'RUNNING')
    throw new CliError(`demand "${demandId}" has ended (${desc.status.name.toLowerCase()}); nothing can change it now`);
  try {
    return await ctx.client.workflow.getHandle(desc.workflowId).executeUpdate(def, { args: [input] });
  } catch (err) {
    const { WorkflowUpdateFailedError } = await import('@temporalio/client');
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = (err.cause as Error | undefined)?.message ?? err.message;
      throw new CliError(`refused: ${reason}`, Exit.error);
    }
    throw err;
  }
}

/** Prints an update's outcome for people or scripts. */
export function printUpdateResult(result: UpdateResult, json: boolean | undefined): void {
  if (json) printJson(result);
  else process.stdout.write(`${safeBlock(result.message)}\n`);
}
