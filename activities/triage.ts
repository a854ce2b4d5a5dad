/** The triage inbox's activity: a decided entry goes to the triage log in storage before the inbox forgets it. */
import { log } from '@temporalio/activity';
import type { LogTriageDecisionInput } from '../domain/contracts';
import type { Storage } from '../platform/storage';
import { writeTriageEntry } from '../platform/triage-log';

/** Creates the triage-log activity. */
export function createTriageActivities(deps: { storage: Storage }) {
  return {
    /** Writes a decided triage entry to the log (idempotent: the same entry gives the same file). */
    async logTriageDecision(input: LogTriageDecisionInput): Promise<{ path: string }> {
      const file = await writeTriageEntry(deps.storage, input.entry);
      log.info('triage decision logged', { id: input.entry.id, status: input.entry.status, path: file });
      return { path: file };
    },
  };
}
