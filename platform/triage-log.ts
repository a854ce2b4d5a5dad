/**
 * The triage log: every message the inbox kept and ops then assigned or discarded, one JSON object per
 * message under triage-log/ in the storage, written when the decision is made. The inbox workflow then
 * forgets the entry, so its state holds only what still waits; `auditflow inbox --all` reads both.
 */
import type { TriageEntry } from '../domain/triage';
import { STORAGE_KEYS, type Storage } from './storage';

/** Reads every decided entry of the log, oldest decision first; unreadable objects are named, not skipped silently. */
export async function readTriageLog(storage: Storage): Promise<{ entries: TriageEntry[]; unreadable: string[] }> {
  const entries: TriageEntry[] = [];
  const unreadable: string[] = [];
  const keys = (await storage.list(STORAGE_KEYS.triageLogPrefix)).filter((k) =>
    /^triage-log\/[0-9a-f]{16}\.json$/.test(k),
  );
  for (const key of keys) {
    try {
      const found = await storage.get(key);
      if (found) entries.push(JSON.parse(found.body.toString('utf8')) as TriageEntry);
    } catch (err) {
      if ((err as Error).name === 'StorageUnavailable') throw err;
      unreadable.push(storage.locate(key));
    }
  }
  entries.sort((a, b) => (a.decidedAt ?? '').localeCompare(b.decidedAt ?? ''));
  return { entries, unreadable };
}

/** Writes a decided triage entry to the log (the same entry gives the same object); returns where it is. */
export async function writeTriageEntry(storage: Storage, entry: TriageEntry): Promise<string> {
  if (!/^[0-9a-f]{16}$/.test(entry.id)) throw new Error(`not a triage entry id: ${entry.id}`);
  const key = STORAGE_KEYS.triageLog(entry.id);
  await storage.put(key, Buffer.from(`${JSON.stringify(entry, null, 2)}\n`), { contentType: 'application/json' });
  return storage.locate(key);
}
