/**
 * The case file's manifest: every file with its size and sha256, chained so that each entry carries
 * the hash of the one before it, starting from a genesis value that (since version 2) is the hash of
 * the manifest's header. Changing a file, removing one, editing an entry, changing the order or
 * editing the demand id, export time or source breaks the chain at a place `verify` can name; the
 * last entry's hash (the head) is printed by `export` so the whole case file can be pinned with one value.
 *
 *   genesis    = sha256("auditflow-case-file\n2\n" + demandId + "\n" + createdAt + "\n" + source)
 *                (version 1: 64 zeros, so its header is not covered)
 *   entry.hash = sha256(prev + "\n" + path + "\n" + sha256 + "\n" + size)   (size in decimal bytes)
 *   prev of the first entry = genesis; prev of entry n = hash of entry n-1
 *
 * The separators make the hashed text unambiguous: the header fields may not hold a line break (a
 * manifest with one is refused), and prev, sha256 and size have fixed forms around the path.
 */
import crypto from 'node:crypto';
import type { ArchiveEntry } from './tar-stream';

export const MANIFEST_PATH = 'manifest.json';
export const MANIFEST_FORMAT = 'auditflow-case-file';
/** The version export writes; verify also reads version 1, whose chain does not cover the header. */
export const MANIFEST_VERSION = 2;
/** The genesis of every version-1 chain. */
export const GENESIS_V1 = '0'.repeat(64);
/** The largest manifest.json verify reads: ~150,000 entries as export writes them. */
export const MAX_MANIFEST_BYTES = 32 * 1024 ** 2;

/** The fields a version-2 chain covers through its genesis. */
export interface ManifestHeader {
  demandId: string;
  createdAt: string;
  /** Where the report data came from (see the report's `source`). */
  source: string;
}

/** One file in the chain. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  /** The previous entry's hash (the genesis for the first). */
  prev: string;
  hash: string;
  /** What the file is, for people: "report", "mail" or "attachment", with its origin. */
  describes?: string;
}

/** The manifest.json of a case file. */
export interface Manifest extends ManifestHeader {
  format: typeof MANIFEST_FORMAT;
  version: 1 | 2;
  algorithm: 'sha256';
  genesis: string;
  /** How the genesis is computed, for people checking by hand (version 2). */
  genesisHash?: string;
  entryHash: string;
  entries: ManifestEntry[];
  head: string;
}

/** One mismatch found by verify, with a sentence that names the file or the entry. */
export interface CaseProblem {
  kind:
    | 'sha256'
    | 'size'
    | 'missing'
    | 'extra'
    | 'not-a-file'
    | 'genesis'
    | 'chain'
    | 'entry-hash'
    | 'head'
    | 'expected-head';
  path?: string;
  /** 1-based position in the manifest. */
  entry?: number;
  expected?: string;
  actual?: string;
  message: string;
}

export const sha256 = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('hex');

/** The genesis of a chain: 64 zeros in version 1, the hash of the header in version 2. */
export function genesisOf(version: 1 | 2, h: ManifestHeader): string {
  return version === 1 ? GENESIS_V1 : sha256(`${MANIFEST_FORMAT}\n2\n${h.demandId}\n${h.createdAt}\n${h.source}`);
}

/** The hash of one entry from its previous hash and its own fields. */
export function entryHash(prev: string, path: string, sha: string, size: number): string {
  return sha256(`${prev}\n${path}\n${sha}\n${size}`);
}

/** A version-2 manifest of the files, in order, chained from the header. */
export function buildManifest(
  header: ManifestHeader,
  files: { path: string; data: Buffer; describes?: string }[],
): Manifest {
  const genesis = genesisOf(MANIFEST_VERSION, header);
  let prev = genesis;
  const entries = files.map((f) => {
    const sha = sha256(f.data);
    const hash = entryHash(prev, f.path, sha, f.data.length);
    const entry: ManifestEntry = {
      path: f.path,
      size: f.data.length,
      sha256: sha,
      prev,
      hash,
      ...(f.describes ? { describes: f.describes } : {}),
    };
    prev = hash;
    return entry;
  });
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    ...header,
    algorithm: 'sha256',
    genesis,
    genesisHash: 'sha256("auditflow-case-file\\n2\\n" + demandId + "\\n" + createdAt + "\\n" + source)',
    entryHash: 'sha256(prev + "\\n" + path + "\\n" + sha256 + "\\n" + size)',
    entries,
    head: prev,
  };
}

/** Counts, outside strings, the objects and arrays and the values (every `{ [ , :`) of UTF-8 JSON. */
function jsonShape(json: Buffer): { containers: number; values: number } {
  let containers = 0;
  let values = 0;
  let inString = false;
  // Structural characters are ASCII, and no byte of a multi-byte UTF-8 sequence is below 0x80.
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      containers++;
      values++;
    } else if (c === 0x2c || c === 0x3a) values++;
  }
  return { containers, values };
}

type Parsed = { ok: true; manifest: Manifest } | { ok: false; reason: string };

/** Parses manifest.json's bytes, or says why it is not one (then the input is not a readable case file). */
export function parseManifest(json: Buffer): Parsed {
  // JSON.parse of 64 MiB of `{},` takes 2 GB. An entry as export writes it is ~400 bytes, one object
  // and a dozen values, so text denser than that is not a manifest and is refused before parsing.
  const shape = jsonShape(json);
  if (shape.values * 16 > json.length + 4096 || shape.containers * 128 > json.length + 4096) {
    return {
      ok: false,
      reason: `manifest.json has ${shape.values} values in ${json.length} bytes, more than a case file's manifest has`,
    };
  }
  let v: Partial<Record<keyof Manifest, unknown>>;
  try {
    v = JSON.parse(json.toString('utf8')) as typeof v;
  } catch (err) {
    return { ok: false, reason: `manifest.json is not valid JSON (${(err as Error).message})` };
  }
  if (!v || typeof v !== 'object' || v.format !== MANIFEST_FORMAT)
    return {
      ok: false,
      reason: `manifest.json is not an auditflow case-file manifest (format is ${JSON.stringify(v?.format)})`,
    };
  if (v.version !== 1 && v.version !== 2)
    return {
      ok: false,
      reason: `manifest version ${JSON.stringify(v.version)} is not supported (this auditflow reads versions 1 and 2)`,
    };
  for (const key of ['demandId', 'createdAt', 'source'] as const) {
    if (typeof v[key] !== 'string') return { ok: false, reason: `manifest.json: ${key} is not a string` };
    if (v.version === 2 && /[\n\r]/.test(v[key]))
      return {
        ok: false,
        reason: `manifest.json: ${key} contains a line break, which would make the header's place in the chain ambiguous`,
      };
  }
  if (v.genesis !== undefined && typeof v.genesis !== 'string')
    return { ok: false, reason: 'manifest.json: genesis is not a string' };
  if (!Array.isArray(v.entries)) return { ok: false, reason: 'manifest.json has no entries list' };
  if (!v.entries.length) return { ok: false, reason: 'manifest.json lists no files' };
  const seen = new Map<string, number>();
  for (const [i, e] of (v.entries as Partial<ManifestEntry>[]).entries()) {
    const fields =
      e &&
      typeof e.path === 'string' &&
      e.path &&
      typeof e.sha256 === 'string' &&
      typeof e.prev === 'string' &&
      typeof e.hash === 'string';
    if (!fields || !Number.isSafeInteger(e.size) || e.size! < 0)
      return { ok: false, reason: `manifest entry ${i + 1} lacks path, size, sha256, prev or hash` };
    const first = seen.get(e.path!);
    if (first !== undefined)
      return { ok: false, reason: `manifest.json lists ${e.path} twice (entries ${first + 1} and ${i + 1})` };
    seen.set(e.path!, i);
  }
  return { ok: true, manifest: v as Manifest };
}

const short = (h: string) => `${h.slice(0, 12)}...`;

/** The chain head: the last entry's hash. */
export const headOf = (manifest: Manifest): string => manifest.entries[manifest.entries.length - 1]!.hash;

/**
 * Every mismatch between the archive and the manifest and its chain, in manifest order, then the extra
 * files and the head; in one linear pass, and one at a time, so a manifest where everything is wrong
 * does not hold a million messages in memory.
 */
export function* problemsOf(
  manifest: Manifest,
  files: Map<string, ArchiveEntry>,
  expectHead?: string,
): Generator<CaseProblem> {
  const { entries } = manifest;
  const computed = genesisOf(manifest.version, manifest);
  // The first entry is checked against the genesis field, so an edited header is one problem, not two.
  const genesis = manifest.genesis ?? computed;
  if (genesis !== computed) {
    yield manifest.version === 1
      ? {
          kind: 'chain',
          expected: computed,
          actual: genesis,
          message: `manifest genesis is ${short(genesis)} but a version-1 chain starts at ${short(computed)}`,
        }
      : {
          kind: 'genesis',
          expected: computed,
          actual: genesis,
          message: `manifest genesis is ${short(genesis)} but its header (demand id, export time, source) gives ${short(computed)}: the header was edited`,
        };
  }
  const owner = new Map<string, number>();
  for (const [i, e] of entries.entries()) if (!owner.has(e.hash)) owner.set(e.hash, i);
  for (const [i, e] of entries.entries()) {
    const n = i + 1;
    const label = `manifest entry ${n} (${e.path})`;
    const expectedPrev = i === 0 ? genesis : entries[i - 1]!.hash;
    if (e.prev !== expectedPrev) {
      const base =
        i === 0
          ? `${label}: chain broken, its previous-hash is not the genesis value`
          : `${label}: chain broken, its previous-hash does not match entry ${n - 1} (${entries[i - 1]!.path})`;
      const o = owner.get(e.prev);
      const why =
        o !== undefined
          ? `; it is the hash of entry ${o + 1} (${entries[o]!.path}), so the entries were reordered`
          : e.prev === genesis
            ? '; it is the genesis value, so the entries were reordered'
            : i === 0 && manifest.version === 2
              ? '; so the demand id, export time or source was edited, or the first entry removed'
              : '; no entry has that hash, so an entry was removed or edited';
      yield { kind: 'chain', entry: n, path: e.path, expected: expectedPrev, actual: e.prev, message: `${base}${why}` };
    }
    const recomputed = entryHash(e.prev, e.path, e.sha256, e.size);
    if (recomputed !== e.hash)
      yield {
        kind: 'entry-hash',
        entry: n,
        path: e.path,
        expected: recomputed,
        actual: e.hash,
        message: `${label}: its hash is ${short(e.hash)} but its fields give ${short(recomputed)} (the entry was edited)`,
      };
    const f = files.get(e.path);
    if (!f) {
      yield {
        kind: 'missing',
        entry: n,
        path: e.path,
        message: `${e.path}: listed in the manifest (entry ${n}) but missing from the archive`,
      };
      continue;
    }
    if (f.type !== 'file')
      yield {
        kind: 'not-a-file',
        entry: n,
        path: e.path,
        message: `${e.path}: is ${f.type === 'directory' ? 'a directory' : 'a link or special file'} in the archive, not a file`,
      };
    if (f.size !== e.size)
      yield {
        kind: 'size',
        entry: n,
        path: e.path,
        expected: String(e.size),
        actual: String(f.size),
        message: `${e.path}: size is ${f.size} bytes but the manifest says ${e.size}`,
      };
    if (f.sha256 !== e.sha256)
      yield {
        kind: 'sha256',
        entry: n,
        path: e.path,
        expected: e.sha256,
        actual: f.sha256,
        message: `${e.path}: sha256 is ${short(f.sha256)} but the manifest says ${short(e.sha256)}`,
      };
  }
  const listed = new Set(entries.map((e) => e.path));
  for (const [p, f] of files) {
    if (p !== MANIFEST_PATH && !listed.has(p) && f.type !== 'directory')
      yield { kind: 'extra', path: p, message: `${p}: in the archive but not in the manifest` };
  }
  const head = headOf(manifest);
  if (manifest.head !== head)
    yield {
      kind: 'head',
      expected: head,
      actual: String(manifest.head),
      message: `manifest head is ${short(String(manifest.head))} but the chain ends at ${short(head)}`,
    };
  if (expectHead !== undefined && expectHead.trim().toLowerCase() !== head)
    yield {
      kind: 'expected-head',
      expected: expectHead,
      actual: head,
      message: `the chain head is ${head} but you expected ${expectHead}`,
    };
}
