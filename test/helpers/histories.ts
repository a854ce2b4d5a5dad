/**
 * Replay fixtures: when AUDITFLOW_EXPORT_HISTORIES=1 (npm run fixtures:histories), the scenario tests
 * save the history of the workflow they ran, which test/workflows/audit-demand.replay.test.ts replays.
 * A fixture already there is kept: it proves that histories recorded by older code still replay, which a
 * fresh recording cannot. AUDITFLOW_EXPORT_HISTORIES=all records them all again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');

/** Saves the workflow's history as a fixture (only when exporting). */
export async function exportHistory(handle: WorkflowHandle, name: string): Promise<void> {
  const mode = process.env.AUDITFLOW_EXPORT_HISTORIES;
  const file = path.join(HISTORIES_DIR, `${name}.json`);
  if (mode !== '1' && mode !== 'all') return;
  if (mode === '1' && fs.existsSync(file)) return;
  const history = await handle.fetchHistory();
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(file, `${historyToJSON(history)}\n`);
}
