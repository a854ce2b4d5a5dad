/**
 * The triage log: every message the inbox kept and ops then assigned or discarded, one JSON file per
 * message under <data>/triage-log/, written durably when the decision is made. The inbox workflow then
 * forgets the entry, so its state holds only what still waits; `auditflow inbox --all` reads both.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TriageEntry } from '../domain/triage';
import { writeDurably } from './evidence';

/** Where the log of decided triage entries lives in a data folder. */
export function triageLogDir(dataDir: string): string {
  return path.join(dataDir, 'triage-log');
}

/** Reads every decided entry of the log, oldest decision first; unreadable files are named, not skipped silently. */
export function readTriageLog(dir: string): { entries: TriageEntry[]; unreadable: string[] } {
  const entries: TriageEntry[] = [];
  const unreadable: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^[0-9a-f]{16}\.json$/.test(n));
  } catch {
    return { entries, unreadable };
  }
  for (const name of names) {
    try {
      entries.push(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as TriageEntry);
    } catch {
      unreadable.push(path.join(dir, name));
    }
  }
  entries.sort((a, b) => (a.decidedAt ?? '').localeCompare(b.decidedAt ?? ''));
  return { entries, unreadable };
}

/** Writes a decided triage entry to the log durably (the same entry gives the same file); returns its path. */
export function writeTriageEntry(dir: string, entry: TriageEntry): string {
  if (!/^[0-9a-f]{16}$/.test(entry.id)) throw new Error(`not a triage entry id: ${entry.id}`);
  const file = path.join(dir, `${entry.id}.json`);
  writeDurably(file, `${JSON.stringify(entry, null, 2)}\n`);
  return file;
}
