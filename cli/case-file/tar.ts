/**
 * A small in-memory tar (POSIX ustar) writer and reader, gzipped with node's zlib. The writer makes
 * reproducible archives (fixed owner, mode and time) that GNU tar, bsdtar and any archive tool open; the
 * reader also understands what those tools write when they repack a case file (pax `path`/`size`
 * records, GNU long names, `./` prefixes), so a case file that was unpacked and packed again still
 * verifies. Nothing is ever written to disk while reading: a hostile archive cannot place files.
 */
import zlib from 'node:zlib';

const BLOCK = 512;
const RECORD = BLOCK * 20;

/** One file of an archive. */
export interface TarFile {
  path: string;
  data: Buffer;
}

/** One entry read back; `type` other than `file` is reported, never trusted. */
export interface TarEntry extends TarFile {
  type: 'file' | 'directory' | 'other';
}

/** The input is not a (gzipped) tar archive, or is damaged. */
export class TarFormatError extends Error {}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

/** Splits a path into ustar's prefix (155 bytes) and name (100 bytes) at a slash. */
function splitPath(p: string): { prefix: string; name: string } {
  if (Buffer.byteLength(p) <= 100) return { prefix: '', name: p };
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return { prefix, name };
  }
  throw new Error(`path too long for a tar header: ${p}`);
}

function header(file: TarFile, mtimeSec: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitPath(file.path);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, file.data.length);
  octal(h, 136, 12, mtimeSec);
  h.fill(' ', 148, 156);
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** A gzipped tar of the files, in the order given. */
export function writeTarGz(files: TarFile[], mtime: Date): Buffer {
  const mtimeSec = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(header(f, mtimeSec), f.data);
    const pad = (BLOCK - (f.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  const body = Buffer.concat(parts);
  const tail = (RECORD - (body.length % RECORD)) % RECORD;
  return zlib.gzipSync(Buffer.concat([body, Buffer.alloc(tail)]), { level: 9 });
}

function str(buf: Buffer, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function num(buf: Buffer, offset: number, length: number, what: string, at: number): number {
  const text = str(buf, offset, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`not a tar archive (bad ${what} field at byte ${at})`);
  return text ? parseInt(text, 8) : 0;
}

/** pax extended header records: "<len> key=value\n". */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    const len = Number(data.subarray(i, space).toString('ascii'));
    if (space === -1 || !Number.isInteger(len) || len <= 0 || i + len > data.length) throw new TarFormatError('bad pax extended header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Reads every entry of a tar or tar.gz archive held in memory, inflating at most `maxBytes`. */
export function readTar(input: Buffer, maxBytes = 2 * 1024 ** 3): TarEntry[] {
  let tar = input;
  if (input[0] === 0x1f && input[1] === 0x8b) {
    try {
      tar = zlib.gunzipSync(input, { maxOutputLength: maxBytes });
    } catch (err) {
      throw new TarFormatError(`cannot decompress: ${(err as Error).message}`);
    }
  }
  const entries: TarEntry[] = [];
  let pending: { path?: string; size?: number } = {};
  let offset = 0;
  while (offset + BLOCK <= tar.length) {
    const h = tar.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) return entries;
    const declared = num(h, 148, 8, 'checksum', offset);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== declared) throw new TarFormatError(`not a tar archive (header checksum mismatch at byte ${offset})`);
    const size = pending.size ?? num(h, 124, 12, 'size', offset);
    const start = offset + BLOCK;
    if (start + size > tar.length) throw new TarFormatError(`truncated archive: an entry of ${size} bytes at byte ${offset} runs past the end`);
    const data = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    const type = String.fromCharCode(h[156]!);
    if (type === 'x') {
      const rec = paxRecords(data);
      pending = { ...(rec.path ? { path: rec.path } : {}), ...(rec.size ? { size: Number(rec.size) } : {}) };
      continue;
    }
    if (type === 'L') {
      pending = { ...pending, path: str(data, 0, data.length) };
      continue;
    }
    if (type === 'g' || type === 'K') continue;
    const prefix = str(h, 257, 6) === 'ustar' ? str(h, 345, 155) : '';
    const raw = pending.path ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    pending = {};
    const path = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    if (!path || path === '.') continue;
    entries.push({ path, type: type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'directory' : 'other', data: Buffer.from(data) });
  }
  // Some writers stop after the last entry without the two zero blocks; a partial block is damage.
  if (offset >= tar.length && entries.length) return entries;
  throw new TarFormatError(entries.length ? 'truncated archive: it ends inside a block' : 'not a tar archive (no entries)');
}
