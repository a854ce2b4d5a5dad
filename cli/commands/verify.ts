/** `auditflow verify <case.tar.gz>`: checks every file of a case file against its hash-chained manifest. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { MANIFEST_PATH, parseManifest, verifyManifest } from '../case-file/manifest';
import { readTar, TarFormatError, type TarEntry } from '../case-file/tar';
import { CliError, Exit, printJson, type GlobalOptions } from '../output';

function readArchive(file: string): TarEntry[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, Exit.invalid);
  }
  try {
    return readTar(bytes);
  } catch (err) {
    if (err instanceof TarFormatError || err instanceof RangeError) throw new CliError(`${file} is not a readable case file: ${err.message}`, Exit.invalid);
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('verify')
    .argument('<caseFile>', 'a case file written by export (.tar.gz)')
    .description('Check a case file: every file against the manifest and the hash chain; exit 0 intact, 1 mismatch, 2 not a case file')
    .option('--expect-head <hash>', 'the chain head export printed; a different head is a mismatch')
    .option('--json', 'print {ok, file, demandId, entries, head, problems: [{kind, path, entry, expected, actual, message}]}')
    .addHelpText('after', '\nExample:\n  npx auditflow verify northwind-case.tar.gz\n  npx auditflow verify northwind-case.tar.gz --expect-head 5d41402abc4b2a76b9719d911017c592...\n')
    .action((file: string, opts: GlobalOptions & { expectHead?: string }) => {
      const entries = readArchive(file);
      const files = new Map<string, { data: Buffer; type: string; count: number }>();
      for (const e of entries) files.set(e.path, { data: e.data, type: e.type, count: (files.get(e.path)?.count ?? 0) + 1 });
      const manifestFile = files.get(MANIFEST_PATH);
      if (!manifestFile) throw new CliError(`${file} is not a readable case file: it has no ${MANIFEST_PATH}`, Exit.invalid);
      const parsed = parseManifest(manifestFile.data.toString('utf8'));
      if (!parsed.ok) throw new CliError(`${file} is not a readable case file: ${parsed.reason}`, Exit.invalid);
      const { manifest } = parsed;
      const { head, problems } = verifyManifest(manifest, files, opts.expectHead);
      if (problems.length) process.exitCode = Exit.error;
      if (opts.json) {
        printJson({ ok: problems.length === 0, file, demandId: manifest.demandId, entries: manifest.entries.length, head, problems });
        return;
      }
      if (!problems.length) {
        process.stdout.write(`${file}: intact. ${manifest.entries.length} files match the manifest and the chain (demand ${manifest.demandId}, exported ${manifest.createdAt})\n  chain head: ${head}\n`);
        return;
      }
      process.stdout.write(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} (demand ${manifest.demandId}, ${manifest.entries.length} entries)\n${problems.map((p) => `  ${p.message}`).join('\n')}\n`);
    });
}
