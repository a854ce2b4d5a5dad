/** Shared plumbing of the demand commands: handles, updates with clear refusals, who is acting. */
import os from 'node:os';
import { WorkflowUpdateFailedError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import { DemandSpec } from '../domain/demand';
import { demandWorkflowId } from '../domain/ids';
import type { UpdateResult } from '../domain/messages';
import { statusQuery } from '../domain/messages';
import type { DemandStatusView } from '../domain/state';
import type { CliContext } from './client';
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

/** The demand's workflow handle and its description, after checking it exists. */
export async function describeDemand(
  ctx: CliContext,
  demandId: string,
): Promise<{ handle: WorkflowHandle; desc: WorkflowExecutionDescription }> {
  const handle = ctx.client.workflow.getHandle(demandWorkflowId(demandId));
  try {
    return { handle, desc: await handle.describe() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(demandId);
    throw err;
  }
}

/** The demand's workflow handle, after checking it exists. */
export async function demandHandle(ctx: CliContext, demandId: string): Promise<WorkflowHandle> {
  return (await describeDemand(ctx, demandId)).handle;
}

/** The status query's view of a demand whose workflow has run. */
export async function queryStatus(handle: WorkflowHandle, demandId: string): Promise<DemandStatusView> {
  try {
    return await handle.query(statusQuery);
  } catch (err) {
    throw new CliError(
      `could not read the state of demand "${demandId}": ${(err as Error).message}\nIs a worker running? (npx auditflow doctor)`,
    );
  }
}

/** The status query's view of a demand; refused, without asking the workflow, for one that has not started. */
export async function fetchStatus(ctx: CliContext, demandId: string): Promise<DemandStatusView> {
  const { handle, desc } = await describeDemand(ctx, demandId);
  const notStarted = await notStartedDemand(ctx, demandId, desc);
  if (notStarted) throw new CliError(notStartedRefusal(notStarted, 'it has no state yet', 'it has no state'));
  return queryStatus(handle, demandId);
}

/** Sends an update; a refusal by the workflow becomes a CliError carrying its reason. */
export async function sendUpdate<I>(
  ctx: CliContext,
  demandId: string,
  def: UpdateDefinition<UpdateResult, [I]>,
  input: I,
): Promise<UpdateResult> {
  const { handle, desc } = await describeDemand(ctx, demandId);
  const notStarted = await notStartedDemand(ctx, demandId, desc);
  // Temporal runs a delayed workflow as soon as it gets an update: the requests would go out now, not at --at.
  if (notStarted) throw new CliError(notStartedRefusal(notStarted, 'nothing can change it before it starts'));
  if (desc.status.name !== 'RUNNING')
    throw new CliError(`demand "${demandId}" has ended (${desc.status.name.toLowerCase()}); nothing can change it now`);
  try {
    return await handle.executeUpdate(def, { args: [input] });
  } catch (err) {
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
