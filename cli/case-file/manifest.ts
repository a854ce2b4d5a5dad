/**
 * The case file's manifest: every file with its size and sha256, chained so that each entry carries
 * the hash of the one before it. Changing a file, removing one, editing an entry or changing the
 * order breaks the chain at a place `verify` can name; the last entry's hash (the head) is printed by
 * `export` so the whole case file can be pinned with one value.
 *
 *   entry.hash = sha256(prev + "\n" + path + "\n" + sha256 + "\n" + size)   (size in decimal bytes)
 *   prev of the first entry = GENESIS (64 zeros); prev of entry n = hash of entry n-1
 *
 * The separators make the hashed text unambiguous (paths never contain a newline).
 */
import crypto from 'node:crypto';

export const MANIFEST_PATH = 'manifest.json';
export const MANIFEST_FORMAT = 'auditflow-case-file';
export const MANIFEST_VERSION = 1;
export const GENESIS = '0'.repeat(64);

/** One file in the chain. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  /** The previous entry's hash (GENESIS for the first). */
  prev: string;
  hash: string;
  /** What the file is, for people: "report", "mail" or "attachment", with its origin. */
  describes?: string;
}

/** The manifest.json of a case file. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  demandId: string;
  createdAt: string;
  /** Where the report data came from (see the report's `source`). */
  source: string;
  algorithm: 'sha256';
  genesis: string;
  entryHash: string;
  entries: ManifestEntry[];
  head: string;
}

/** One mismatch found by verify, with a sentence that names the file or the entry. */
export interface CaseProblem {
  kind: 'sha256' | 'size' | 'missing' | 'extra' | 'not-a-file' | 'duplicate' | 'chain' | 'entry-hash' | 'head' | 'expected-head';
  path?: string;
  /** 1-based position in the manifest. */
  entry?: number;
  expected?: string;
  actual?: string;
  message: string;
}

export const sha256 = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('hex');

/** The hash of one entry from its previous hash and its own fields. */
export function entryHash(prev: string, path: string, sha: string, size: number): string {
  return sha256(`${prev}\n${path}\n${sha}\n${size}`);
}

/** Chains files into manifest entries, in order. */
export function chainEntries(files: { path: string; data: Buffer; describes?: string }[]): ManifestEntry[] {
  let prev = GENESIS;
  return files.map((f) => {
    const sha = sha256(f.data);
    const hash = entryHash(prev, f.path, sha, f.data.length);
    const entry: ManifestEntry = { path: f.path, size: f.data.length, sha256: sha, prev, hash, ...(f.describes ? { describes: f.describes } : {}) };
    prev = hash;
    return entry;
  });
}

/** Parses manifest.json, or says why it is not one (then the input is not a readable case file). */
export function parseManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; reason: string } {
  let v: Partial<Manifest>;
  try {
    v = JSON.parse(text) as Partial<Manifest>;
  } catch (err) {
    return { ok: false, reason: `manifest.json is not valid JSON (${(err as Error).message})` };
  }
  if (!v || v.format !== MANIFEST_FORMAT) return { ok: false, reason: `manifest.json is not an auditflow case-file manifest (format is ${JSON.stringify(v?.format)})` };
  if (v.version !== MANIFEST_VERSION) return { ok: false, reason: `manifest version ${JSON.stringify(v.version)} is not supported (this auditflow reads version ${MANIFEST_VERSION})` };
  if (!Array.isArray(v.entries)) return { ok: false, reason: 'manifest.json has no entries list' };
  const bad = v.entries.findIndex((e: Partial<ManifestEntry>) => !e || typeof e.path !== 'string' || typeof e.sha256 !== 'string' || typeof e.size !== 'number' || typeof e.prev !== 'string' || typeof e.hash !== 'string');
  if (bad !== -1) return { ok: false, reason: `manifest entry ${bad + 1} lacks path, size, sha256, prev or hash` };
  return { ok: true, manifest: v as Manifest };
}

const short = (h: string) => `${h.slice(0, 12)}...`;

/** Checks the files of an archive against its manifest and the chain; every mismatch is listed. */
export function verifyManifest(manifest: Manifest, files: Map<string, { data: Buffer; type: string; count: number }>, expectHead?: string): { head: string; problems: CaseProblem[] } {
  const problems: CaseProblem[] = [];
  const genesis = manifest.genesis ?? GENESIS;
  if (genesis !== GENESIS) problems.push({ kind: 'chain', expected: GENESIS, actual: genesis, message: `manifest genesis is ${short(genesis)} but a case file's chain starts at ${short(GENESIS)}` });
  manifest.entries.forEach((e, i) => {
    const n = i + 1;
    const label = `manifest entry ${n} (${e.path})`;
    const expectedPrev = i === 0 ? GENESIS : manifest.entries[i - 1]!.hash;
    if (e.prev !== expectedPrev) {
      const base = i === 0 ? `${label}: chain broken, its previous-hash is not the genesis value` : `${label}: chain broken, its previous-hash does not match entry ${n - 1} (${manifest.entries[i - 1]!.path})`;
      const owner = manifest.entries.findIndex((o) => o.hash === e.prev);
      const why = owner !== -1 ? `; it is the hash of entry ${owner + 1} (${manifest.entries[owner]!.path}), so the entries were reordered` : e.prev === GENESIS ? '; it is the genesis value, so the entries were reordered' : '; no entry has that hash, so an entry was removed or edited';
      problems.push({ kind: 'chain', entry: n, path: e.path, expected: expectedPrev, actual: e.prev, message: `${base}${why}` });
    }
    const recomputed = entryHash(e.prev, e.path, e.sha256, e.size);
    if (recomputed !== e.hash) problems.push({ kind: 'entry-hash', entry: n, path: e.path, expected: recomputed, actual: e.hash, message: `${label}: its hash is ${short(e.hash)} but its fields give ${short(recomputed)} (the entry was edited)` });
    const f = files.get(e.path);
    if (!f) {
      problems.push({ kind: 'missing', entry: n, path: e.path, message: `${e.path}: listed in the manifest (entry ${n}) but missing from the archive` });
      return;
    }
    if (f.type !== 'file') problems.push({ kind: 'not-a-file', entry: n, path: e.path, message: `${e.path}: is a ${f.type} in the archive, not a file` });
    if (f.count > 1) problems.push({ kind: 'duplicate', entry: n, path: e.path, message: `${e.path}: appears ${f.count} times in the archive (the last copy was checked)` });
    if (f.data.length !== e.size) problems.push({ kind: 'size', entry: n, path: e.path, expected: String(e.size), actual: String(f.data.length), message: `${e.path}: size is ${f.data.length} bytes but the manifest says ${e.size}` });
    const actual = sha256(f.data);
    if (actual !== e.sha256) problems.push({ kind: 'sha256', entry: n, path: e.path, expected: e.sha256, actual, message: `${e.path}: sha256 is ${short(actual)} but the manifest says ${short(e.sha256)}` });
  });
  const listed = new Set(manifest.entries.map((e) => e.path));
  for (const [p, f] of files) {
    if (p !== MANIFEST_PATH && !listed.has(p) && f.type !== 'directory') problems.push({ kind: 'extra', path: p, message: `${p}: in the archive but not in the manifest` });
  }
  const head = manifest.entries.length ? manifest.entries[manifest.entries.length - 1]!.hash : GENESIS;
  if (manifest.head !== head) problems.push({ kind: 'head', expected: head, actual: String(manifest.head), message: `manifest head is ${short(String(manifest.head))} but the chain ends at ${short(head)}` });
  if (expectHead !== undefined && expectHead.trim().toLowerCase() !== head) problems.push({ kind: 'expected-head', expected: expectHead, actual: head, message: `the chain head is ${head} but you expected ${expectHead}` });
  return { head, problems };
}
