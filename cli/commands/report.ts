/** `auditflow report <demandId>`: the demand's report as Markdown, HTML or JSON, to stdout or a file. */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { writeDurably } from '../../platform/storage-file';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../../platform/report/formats';
import { withReader } from '../client';
import { checkDemandId } from '../demands';
import { CliError, Exit, printJson, safeBlock, type GlobalOptions } from '../output';
import { loadReport } from '../report-source';

interface ReportOptions extends GlobalOptions {
  format?: ReportFormat;
  out?: string;
}

export function register(program: Command): void {
  program
    .command('report')
    .argument('<demandId>', 'the demand id')
    .description(
      "Write the demand's report: per item the questions, answers (with lateness, attachments, sender authentication) " +
        'and reviews; the full timeline; the outcome',
    )
    .addOption(
      new Option(
        '--format <format>',
        'md (default), html (one printable page) or json (the report document, see README)',
      ).choices(REPORT_FORMATS),
    )
    .option('--out <path>', 'write to this file instead of stdout')
    .option(
      '--json',
      'print the report as JSON (same as --format json); with --out, print {ok, path, format, bytes, source}',
    )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow report northwind-api-audit-2027\n  npx auditflow report northwind-api-audit-2027 --format html --out northwind.html\n',
    )
    .action(async (demandId: string, opts: ReportOptions) => {
      checkDemandId(demandId);
      if (opts.json && !opts.out && opts.format && opts.format !== 'json')
        throw new CliError(
          `--json prints the report as JSON; drop it, or use --out to write the ${opts.format} report to a file`,
          Exit.invalid,
        );
      const format: ReportFormat = opts.format ?? (opts.json && !opts.out ? 'json' : 'md');
      await withReader(async (ctx) => {
        const { doc, fallback } = await loadReport(ctx, demandId);
        if (fallback) process.stderr.write(`note: ${fallback}\n`);
        const text = renderReport(doc, format);
        if (!opts.out) {
          // The report quotes the counterparty; on a terminal its controls are written out (JSON stays exact).
          process.stdout.write(format === 'json' ? text : safeBlock(text));
          return;
        }
        try {
          writeDurably(path.resolve(opts.out), text);
        } catch (err) {
          throw new CliError(`cannot write ${opts.out}: ${(err as Error).message}`);
        }
        const bytes = Buffer.byteLength(text);
        if (opts.json) printJson({ ok: true, path: opts.out, format, bytes, source: doc.source.kind });
        else
          process.stdout.write(
            `report written: ${opts.out} (${format}, ${bytes.toLocaleString('en-US')} bytes, demand ${doc.demand.id}: ${doc.outcome.status})\n`,
          );
      });
    });
}
