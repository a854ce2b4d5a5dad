/** `auditflow record`: an answer received outside email (post, portal, call), with files by reference. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createEvidenceStore } from '../../platform/evidence';
import { recordResponseUpdate } from '../../domain/messages';
import type { EvidenceRef } from '../../domain/state';
import { withClient } from '../client';
import { actor, checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import { CliError, Exit, type GlobalOptions } from '../output';

interface RecordOptions extends GlobalOptions {
  item: string[];
  channel: string;
  summary: string;
  receivedAt?: string;
  attach?: string[];
  by?: string;
}

export function register(program: Command): void {
  program
    .command('record')
    .argument('<demandId>', 'the demand id')
    .description('Record an answer received by post, portal or call; attached files go to the evidence store')
    .requiredOption('--item <itemId...>', 'the item(s) it answers')
    .option('--channel <channel>', 'post, portal, call, email or other', 'other')
    .requiredOption('--summary <text>', 'what the answer says')
    .option('--received-at <instant>', 'when it arrived (ISO instant; default: now)')
    .option('--attach <file...>', 'files that came with it (stored by sha256; only the reference goes to Temporal)')
    .option('--by <who>', 'who recorded it (default: your user@host)')
    .option('--json', 'print {ok, message, items}')
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow record acme-api-usage-2023 --item xbox --channel post --summary "signed letter, 12 pages" --attach scan.pdf\n',
    )
    .action(async (demandId: string, opts: RecordOptions) => {
      checkDemandId(demandId);
      await withClient(async (ctx) => {
        const store = createEvidenceStore(ctx.storage);
        const attachments: EvidenceRef[] = [];
        for (const file of opts.attach ?? []) {
          let data: Buffer;
          try {
            data = fs.readFileSync(file);
          } catch (err) {
            throw new CliError(`--attach ${file}: ${(err as Error).message}`, Exit.invalid);
          }
          attachments.push(await store.put(data, { filename: path.basename(file) }));
        }
        const result = await sendUpdate(ctx, demandId, recordResponseUpdate, {
          itemIds: opts.item,
          channel: opts.channel as 'post',
          summary: opts.summary,
          attachments,
          by: actor(opts.by),
          ...(opts.receivedAt ? { receivedAt: opts.receivedAt } : {}),
        });
        printUpdateResult(result, opts.json);
      });
    });
}
