/**
 * Replay fixtures: when AUDITFLOW_EXPORT_HISTORIES=1 (npm run fixtures:histories), the scenario tests
 * save the history of the workflow they ran, which test/workflows/audit-demand.replay.test.ts replays.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');

/** Saves the workflow's history as a fixture (only when exporting). */
export async function exportHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.AUDITFLOW_EXPORT_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), `${historyToJSON(history)}\n`);
}
