/**
 * Reads a tar or tar.gz archive as a stream, for `verify`: the file is read in chunks, gunzipped as a
 * stream, each header parsed as it arrives and each entry's data hashed as it passes, so memory does
 * not depend on the archive's size. Only one entry (manifest.json) is kept, up to a cap. It reads what
 * archive tools write when they repack a case file (pax `path`/`size` records, GNU long names, ustar
 * prefixes, `./`), and refuses, with the byte offset, anything a tool could read two ways: bad
 * numbers, a second entry under one path, a path with `..`. Nothing is ever written to disk.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const BLOCK = 512;
const MiB = 1024 ** 2;

/** The input is not a tar archive a case file can be read from; the message says why and where. */
export class TarFormatError extends Error {}

/** Bounds on what a hostile archive can make the reader hold or do. */
export interface ReadLimits {
  /** Bytes of tar read once decompressed: a gzip bomb ends with a message instead of running for hours. */
  maxBytes: number;
  /** The one entry whose bytes are kept (manifest.json), and the most bytes it may have. */
  keep: { path: string; maxBytes: number };
}

const MAX_META_BYTES = MiB; // pax and GNU long-name data; GNU tar writes a few hundred bytes
const MAX_PATH_BYTES = 4096; // PATH_MAX on Linux: no tool extracts a longer name
// The index of entries is what grows with an archive's entry count: a 32 MiB manifest lists at most
// ~140,000 files, so twice that leaves room to name the extras of a real case file, and no more.
const MAX_ENTRIES = 300_000;
const MAX_NAME_BYTES = 32 * MiB;

/** One entry of the archive: where it starts, what it is, and its data's size and sha256. */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  sha256: string;
  offset: number;
}

/** Every entry by path, and the kept entry's bytes if the archive has it. */
export interface ArchiveContents {
  entries: Map<string, ArchiveEntry>;
  kept?: Buffer;
}

/** The entry whose data is being read. */
interface Reading {
  at: number;
  type: string;
  path: string;
  size: number;
  left: number;
  /** Whether the data is hashed (entries, not metadata); small data is hashed in one call, without a Hash object. */
  hashing?: boolean;
  hash?: crypto.Hash;
  digest?: string;
  /** The bytes kept (pax or long-name data, or the kept entry), allocated once at the declared size. */
  data?: Buffer;
}

const EMPTY_SHA256 = crypto.hash('sha256', '', 'hex');
const META = new Set(['x', 'g', 'L', 'K']);
const USTAR = Buffer.from('ustar\0', 'latin1');

function text(h: Buffer, offset: number, length: number, encoding: BufferEncoding): string {
  const field = h.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.toString(encoding, 0, end === -1 ? length : end);
}

/** The header's size field: octal, or GNU base-256 for big files; anything else is refused. */
function sizeField(h: Buffer, at: number): number {
  const bad = (why: string) => new TarFormatError(`not a tar archive (bad size field at byte ${at}: ${why})`);
  if (h[124]! & 0x80) {
    if (h[124]! & 0x40) throw bad('a negative base-256 number');
    let v = BigInt(h[124]! & 0x3f);
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${v} bytes is more than any archive holds`);
    return Number(v);
  }
  const octal = text(h, 124, 12, 'latin1').trim();
  if (!/^[0-7]*$/.test(octal)) throw bad(JSON.stringify(octal));
  return octal ? parseInt(octal, 8) : 0;
}

/** A path as archive tools extract it: no empty or `.` segments, no leading slash; `..` is refused. */
function canonical(raw: string, at: number): string {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new TarFormatError(`${raw} at byte ${at} has a .. component; a case file's paths stay inside it`);
  return parts.join('/');
}

/** A push parser: give it the tar bytes in chunks of any size, then call end(). */
class TarParser {
  readonly entries = new Map<string, ArchiveEntry>();
  kept?: Buffer;
  done = false;
  private offset = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  private skip = 0;
  private reading?: Reading;
  private pending: { path?: string; size?: number; at?: number } = {};
  private nameBytes = 0;

  constructor(private readonly limits: ReadLimits) {}

  write(chunk: Buffer): void {
    if (this.offset + chunk.length > this.limits.maxBytes) {
      throw new TarFormatError(
        `it holds more than ${this.limits.maxBytes} bytes once decompressed (the --max-bytes limit); raise --max-bytes if a case file is really that large`,
      );
    }
    let i = 0;
    while (i < chunk.length && !this.done) {
      let take: number;
      if (this.reading) {
        const r = this.reading;
        take = Math.min(r.left, chunk.length - i);
        const part = chunk.subarray(i, i + take);
        if (r.hashing && !r.hash && take === r.size) r.digest = crypto.hash('sha256', part, 'hex');
        else if (r.hashing) (r.hash ??= crypto.createHash('sha256')).update(part);
        if (r.data) part.copy(r.data, r.size - r.left);
        r.left -= take;
      } else if (this.skip) {
        take = Math.min(this.skip, chunk.length - i);
        this.skip -= take;
      } else {
        take = Math.min(BLOCK - this.filled, chunk.length - i);
        chunk.copy(this.block, this.filled, i, i + take);
        this.filled += take;
      }
      i += take;
      this.offset += take;
      if (this.reading?.left === 0) this.finish();
      else if (this.filled === BLOCK) {
        this.filled = 0;
        this.header(this.offset - BLOCK);
      }
    }
  }

  end(): void {
    if (this.done) return;
    const r = this.reading;
    if (r)
      throw new TarFormatError(
        `truncated archive: the entry at byte ${r.at}${r.path ? ` (${r.path})` : ''} declares ${r.size} bytes but the archive ends at byte ${this.offset}`,
      );
    if (this.filled) throw new TarFormatError(`truncated archive: it ends inside a header, at byte ${this.offset}`);
    if (this.pending.at !== undefined)
      throw new TarFormatError(
        `truncated archive: the extended header at byte ${this.pending.at} is not followed by an entry`,
      );
    // Some writers stop after the last entry without the two zero blocks, or without its padding.
    if (!this.entries.size) throw new TarFormatError('not a tar archive (no entries)');
  }

  private header(at: number): void {
    const h = this.block;
    if (h.every((b) => b === 0)) {
      if (this.pending.at !== undefined)
        throw new TarFormatError(
          `the extended header at byte ${this.pending.at} is followed by the end of the archive, not an entry`,
        );
      this.done = true;
      return;
    }
    const declared = text(h, 148, 8, 'latin1').trim();
    if (!/^[0-7]{1,8}$/.test(declared))
      throw new TarFormatError(`not a tar archive (bad checksum field at byte ${at})`);
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    // Some old writers summed signed bytes; GNU tar accepts either, and so does this.
    if (parseInt(declared, 8) !== unsigned && parseInt(declared, 8) !== signed)
      throw new TarFormatError(`not a tar archive (header checksum mismatch at byte ${at})`);
    const type = String.fromCharCode(h[156]!);
    if (META.has(type)) {
      const size = sizeField(h, at);
      if (size > MAX_META_BYTES)
        throw new TarFormatError(
          `the extended header at byte ${at} is ${size} bytes, more than the ${MAX_META_BYTES} an archive tool writes`,
        );
      if (type !== 'g') this.pending.at ??= at;
      this.read({ at, type, path: '', size, left: size, data: Buffer.alloc(size) });
      return;
    }
    const size = this.pending.size ?? sizeField(h, at);
    const prefix = h.subarray(257, 263).equals(USTAR) ? text(h, 345, 155, 'utf8') : '';
    const raw = this.pending.path ?? (prefix ? `${prefix}/${text(h, 0, 100, 'utf8')}` : text(h, 0, 100, 'utf8'));
    this.pending = {};
    const path = canonical(raw, at);
    if (Buffer.byteLength(path) > MAX_PATH_BYTES)
      throw new TarFormatError(
        `the entry at byte ${at} has a path of ${Buffer.byteLength(path)} bytes, more than ${MAX_PATH_BYTES}`,
      );
    if (!path) return this.read({ at, type, path, size, left: size });
    const first = this.entries.get(path);
    if (first) {
      throw new TarFormatError(
        path === this.limits.keep.path
          ? `a second ${path} at byte ${at} (the first is at byte ${first.offset})`
          : `${path} appears twice in the archive (at bytes ${first.offset} and ${at}); a case file has each path once`,
      );
    }
    this.nameBytes += Buffer.byteLength(path);
    if (this.entries.size >= MAX_ENTRIES || this.nameBytes > MAX_NAME_BYTES)
      throw new TarFormatError(
        `more than ${MAX_ENTRIES} entries or ${MAX_NAME_BYTES} bytes of names (at byte ${at}); a case file has one entry per file of its manifest`,
      );
    const kind = type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'directory' : 'other';
    // A placeholder, so a duplicate is found even while this entry's data is still being read.
    this.entries.set(path, { path, type: kind, size, sha256: '', offset: at });
    const keep = path === this.limits.keep.path && kind === 'file';
    if (keep && size > this.limits.keep.maxBytes)
      throw new TarFormatError(
        `${path} is ${size} bytes, more than the ${this.limits.keep.maxBytes} bytes (${this.limits.keep.maxBytes / MiB} MiB) a case file's manifest may have`,
      );
    this.read({ at, type, path, size, left: size, hashing: true, ...(keep ? { data: Buffer.alloc(size) } : {}) });
  }

  private read(r: Reading): void {
    this.reading = r;
    if (!r.left) this.finish();
  }

  private finish(): void {
    const r = this.reading!;
    this.reading = undefined;
    this.skip = (BLOCK - (r.size % BLOCK)) % BLOCK;
    const { data } = r;
    if (r.type === 'x' || r.type === 'g') return this.pax(data!, r.at, r.type === 'g');
    if (r.type === 'L') {
      this.pending.path = text(data!, 0, data!.length, 'utf8');
      return;
    }
    if (r.type === 'K' || !r.path) return;
    this.entries.get(r.path)!.sha256 = r.digest ?? r.hash?.digest('hex') ?? EMPTY_SHA256;
    if (data) this.kept = data;
  }

  /** pax extended header records, "<length> <key>=<value>\n" where the length counts the whole record. */
  private pax(data: Buffer, at: number, global: boolean): void {
    const bad = (why: string) => new TarFormatError(`bad pax extended header at byte ${at}: ${why}`);
    for (let i = 0; i < data.length;) {
      const where = at + BLOCK + i;
      const space = data.indexOf(0x20, i);
      if (space === -1 || space - i > 20) throw bad(`the record at byte ${where} has no length`);
      const length = data.toString('latin1', i, space);
      if (!/^[1-9]\d*$/.test(length))
        throw bad(`the record at byte ${where} has length ${JSON.stringify(length)}, not a positive decimal number`);
      const len = Number(length);
      if (len > data.length - i)
        throw bad(`the record at byte ${where} says it is ${len} bytes long but only ${data.length - i} are left`);
      if (len < space - i + 2 || data[i + len - 1] !== 0x0a)
        throw bad(`the record at byte ${where} does not end with a newline where its length says`);
      const record = data.toString('utf8', space + 1, i + len - 1);
      const eq = record.indexOf('=');
      if (eq <= 0) throw bad(`the record at byte ${where} is not key=value`);
      const [key, value] = [record.slice(0, eq), record.slice(eq + 1)];
      // A global header's path or size would apply to every entry after it; no tool writes one, so it is ignored.
      if (!global && key === 'path') this.pending.path = value || undefined;
      if (!global && key === 'size') {
        if (value && (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))))
          throw bad(`size ${JSON.stringify(value)} is not a whole number of bytes (record at byte ${where})`);
        this.pending.size = value ? Number(value) : undefined;
      }
      i += len;
    }
  }
}

/** Reads a tar or tar.gz file as a stream; file-system errors are thrown as they are, damage as TarFormatError. */
export async function readTarFile(file: string, limits: ReadLimits): Promise<ArchiveContents> {
  const fd = fs.openSync(file, 'r');
  const magic = Buffer.alloc(2);
  try {
    fs.readSync(fd, magic, 0, 2, 0);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  const source = fs.createReadStream('', { fd, start: 0, highWaterMark: MiB });
  const gunzip = magic[0] === 0x1f && magic[1] === 0x8b ? zlib.createGunzip({ chunkSize: MiB }) : undefined;
  const parser = new TarParser(limits);
  const reachedEnd = new Error('end of archive');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        parser.write(chunk);
      } catch (err) {
        return done(err as Error);
      }
      // Stop reading at the end-of-archive blocks: what follows is padding, or a bomb.
      done(parser.done ? reachedEnd : undefined);
    },
    final(done) {
      try {
        parser.end();
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  try {
    await (gunzip ? pipeline(source, gunzip, sink) : pipeline(source, sink));
  } catch (err) {
    if (err === reachedEnd) return { entries: parser.entries, ...(parser.kept ? { kept: parser.kept } : {}) };
    if (err instanceof TarFormatError) throw err;
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_'))
      throw new TarFormatError(`cannot decompress: ${(err as Error).message}`);
    throw err;
  }
  return { entries: parser.entries, ...(parser.kept ? { kept: parser.kept } : {}) };
}
