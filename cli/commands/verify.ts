/** `auditflow verify <case.tar.gz>`: checks every file of a case file against its hash-chained manifest. */
import type { Command } from 'commander';
import {
  headOf,
  MANIFEST_PATH,
  MAX_MANIFEST_BYTES,
  parseManifest,
  problemsOf,
  type CaseProblem,
  type Manifest,
} from '../case-file/manifest';
import { readTarFile, TarFormatError, type ArchiveContents } from '../case-file/tar-stream';
import { CliError, Exit, type GlobalOptions } from '../output';
import { cleanForTerminal as clean, jsonForTerminal } from '../terminal';

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** "16GiB", "512MiB" or a plain number of bytes. */
function parseBytes(value: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * UNITS[m[2] ?? 'B']! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CliError(`--max-bytes ${clean(value)}: give a number of bytes, e.g. 17179869184 or 16GiB`, Exit.invalid);
  return n;
}

// Messages carry archive paths and manifest fields: cleaned here, since the error printer shows them as they are.
const unreadable = (file: string, reason: string) =>
  new CliError(clean(`${file} is not a readable case file: ${reason}`), Exit.invalid);

async function readArchive(file: string, maxBytes: number): Promise<ArchiveContents> {
  try {
    return await readTarFile(file, { maxBytes, keep: { path: MANIFEST_PATH, maxBytes: MAX_MANIFEST_BYTES } });
  } catch (err) {
    if (err instanceof TarFormatError) throw unreadable(file, err.message);
    if (typeof (err as NodeJS.ErrnoException).code === 'string')
      throw new CliError(clean(`cannot read ${file}: ${(err as Error).message}`), Exit.invalid);
    throw err;
  }
}

/** Writes the lines a thousand at a time: a million problems never become one string. */
function writeLines(lines: Iterable<string>): void {
  let batch: string[] = [];
  for (const line of lines) {
    batch.push(line);
    if (batch.length < 1000) continue;
    process.stdout.write(`${batch.join('\n')}\n`);
    batch = [];
  }
  if (batch.length) process.stdout.write(`${batch.join('\n')}\n`);
}

/** What verify found: the count first (for the first line), then the problems generated again to print. */
interface Findings {
  manifest: Manifest;
  head: string;
  count: number;
  problems: () => Iterable<CaseProblem>;
}

function* textLines(file: string, { manifest, head, count, problems }: Findings): Generator<string> {
  const entries = manifest.entries.length;
  const [id, at] = [clean(manifest.demandId), clean(manifest.createdAt)];
  // A version-1 chain starts at 64 zeros, so its header could have been edited without a trace.
  const covered = manifest.version >= 2;
  if (!count)
    yield `${clean(file)}: intact. ${entries} files match the manifest and the chain${covered ? ` (demand ${id}, exported ${at})` : ''}\n  chain head: ${head}`;
  else
    yield `${clean(file)}: ${count} problem${count === 1 ? '' : 's'} (${covered ? `demand ${id}` : 'version-1 manifest'}, ${entries} entries)`;
  for (const p of problems()) yield `  ${clean(p.message)}`;
  if (!covered)
    yield `  version-1 case file: its chain does not cover the demand id and export time, so they are unverified (the manifest claims demand ${id}, exported ${at}); export the demand again for a version-2 case file`;
}

function* jsonLines(file: string, { manifest, head, count, problems }: Findings): Generator<string> {
  const header = { demandId: manifest.demandId, createdAt: manifest.createdAt, source: manifest.source };
  const shown = manifest.version >= 2 ? header : { demandId: null, createdAt: null, source: null, unverified: header };
  const report = jsonForTerminal({
    ok: count === 0,
    file,
    version: manifest.version,
    ...shown,
    entries: manifest.entries.length,
    head,
    problems: [],
  }).trimEnd();
  if (!count) return yield report;
  // The same text as JSON.stringify(report, null, 2), with the problems written one at a time.
  yield `${report.slice(0, report.lastIndexOf('[]'))}[`;
  let i = 0;
  for (const p of problems())
    yield `    ${jsonForTerminal(p).trimEnd().replace(/\n/g, '\n    ')}${++i < count ? ',' : ''}`;
  yield '  ]\n}';
}

export function register(program: Command): void {
  program
    .command('verify')
    .argument('<caseFile>', 'a case file written by export (.tar.gz)')
    .description(
      'Check a case file: every file against the manifest and the hash chain; exit 0 intact, 1 mismatch, 2 not a case file',
    )
    .option('--expect-head <hash>', 'the chain head export printed; a different head is a mismatch')
    .option(
      '--max-bytes <n>',
      'stop (exit 2) once this much is read after decompressing; bytes, or e.g. 512MiB, 16GiB',
      '16GiB',
    )
    .option(
      '--json',
      'print {ok, file, version, demandId, createdAt, source, entries, head, problems: [{kind, path, entry, expected, actual, message}]}',
    )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow verify northwind-case.tar.gz\n  npx auditflow verify northwind-case.tar.gz --expect-head 5d41402abc4b2a76b9719d911017c592...\n',
    )
    .action(async (file: string, opts: GlobalOptions & { expectHead?: string; maxBytes: string }) => {
      const archive = await readArchive(file, parseBytes(opts.maxBytes));
      const manifestFile = archive.entries.get(MANIFEST_PATH);
      if (!manifestFile) throw unreadable(file, `it has no ${MANIFEST_PATH}`);
      if (manifestFile.type !== 'file' || !archive.kept)
        throw unreadable(
          file,
          `${MANIFEST_PATH} is ${manifestFile.type === 'directory' ? 'a directory' : 'a link or special file'} in the archive, not a file`,
        );
      const parsed = parseManifest(archive.kept);
      archive.kept = undefined;
      if (!parsed.ok) throw unreadable(file, parsed.reason);
      const { manifest } = parsed;
      const problems = () => problemsOf(manifest, archive.entries, opts.expectHead);
      let count = 0;
      for (const _ of problems()) count++;
      if (count) process.exitCode = Exit.error;
      const findings = { manifest, head: headOf(manifest), count, problems };
      writeLines(opts.json ? jsonLines(file, findings) : textLines(file, findings));
    });
}
