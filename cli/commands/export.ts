/** `auditflow export <demandId> --out case.tar.gz`: the case file, with a hash-chained manifest. */
import path from 'node:path';
import type { Command } from 'commander';
import { createEvidenceStore } from '../../platform/evidence';
import { writeDurably } from '../../platform/storage-file';
import { buildCaseFile } from '../case-file/collect';
import { withReader } from '../client';
import { checkDemandId } from '../demands';
import { CliError, Exit, printJson, type GlobalOptions } from '../output';
import { loadReport } from '../report-source';

export function register(program: Command): void {
  program
    .command('export')
    .argument('<demandId>', 'the demand id')
    .description(
      'Export the case file: the report (md, html, json), every stored .eml and attachment, and manifest.json whose entries form a hash chain',
    )
    .requiredOption('--out <file.tar.gz>', 'where to write the case file (.tar.gz or .tgz)')
    .option('--json', 'print {ok, path, demandId, files, bytes, head, source, entries: [{path, size, sha256}]}')
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow export northwind-api-audit-2027 --out northwind-case.tar.gz\n' +
        '  npx auditflow verify northwind-case.tar.gz --expect-head <the head export printed>\n',
    )
    .action(async (demandId: string, opts: GlobalOptions & { out: string }) => {
      checkDemandId(demandId);
      if (/\.zip$/i.test(opts.out))
        throw new CliError(
          'zip case files are not supported; use --out <name>.tar.gz (any archive tool opens it)',
          Exit.invalid,
        );
      if (!/\.(tar\.gz|tgz)$/i.test(opts.out))
        throw new CliError(
          `--out ${opts.out}: a case file is a .tar.gz (or .tgz); name it e.g. ${demandId}-case.tar.gz`,
          Exit.invalid,
        );
      await withReader(async (ctx) => {
        const { doc, fallback } = await loadReport(ctx, demandId);
        if (fallback) process.stderr.write(`note: ${fallback}\n`);
        const built = await buildCaseFile(doc, createEvidenceStore(ctx.storage), new Date());
        try {
          writeDurably(path.resolve(opts.out), built.archive);
        } catch (err) {
          throw new CliError(`cannot write ${opts.out}: ${(err as Error).message}`);
        }
        const { manifest } = built;
        if (opts.json) {
          printJson({
            ok: true,
            path: opts.out,
            demandId,
            files: manifest.entries.length,
            bytes: built.archive.length,
            head: manifest.head,
            source: doc.source.kind,
            entries: manifest.entries.map(({ path: p, size, sha256 }) => ({ path: p, size, sha256 })),
          });
          return;
        }
        const count = (prefix: string) => manifest.entries.filter((e) => e.path.startsWith(prefix)).length;
        process.stdout.write(
          [
            `case file written: ${opts.out} (${built.archive.length.toLocaleString('en-US')} bytes)`,
            `  demand ${demandId}: ${doc.outcome.status}; from ${doc.source.kind === 'workflow' ? 'the workflow state' : 'the stored final report'}`,
            `  ${count('reports/')} report files, ${count('mail/')} emails, ${count('attachments/')} attachments, ` +
              `${count('files-sent/') ? `${count('files-sent/')} files sent, ` : ''}manifest.json (${manifest.entries.length} entries)`,
            `  chain head: ${manifest.head}`,
            `  note the head down; check the file at any time with:`,
            `    npx auditflow verify ${opts.out} --expect-head ${manifest.head}`,
          ].join('\n') + '\n',
        );
      });
    });
}
