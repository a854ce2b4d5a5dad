/**
 * A small in-memory tar (POSIX ustar) writer, gzipped with node's zlib: reproducible archives (fixed
 * owner, mode and time) that GNU tar, bsdtar and any archive tool open. `export` writes a case file
 * whole, so memory is its size; `verify` reads with the streaming reader in tar-stream.ts instead,
 * because what it reads may be hostile.
 */
import zlib from 'node:zlib';

const BLOCK = 512;
const RECORD = BLOCK * 20;

/** One file of an archive. */
export interface TarFile {
  path: string;
  data: Buffer;
}

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
