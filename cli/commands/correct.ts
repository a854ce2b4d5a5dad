/**
 * `auditflow contact ...` and `auditflow item ...`: corrections to a running demand. Each is an update the
 * demand validates (a refusal says why, nothing changes); each records who (--by) and why (--reason) in
 * the timeline, and the counterparty is told what changed for them.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { UpdateDefinition } from '@temporalio/common';
import type { z } from 'zod';
import {
  AddContactInput,
  AddItemInput,
  CancelItemInput,
  ChangeQuestionInput,
  ReassignItemInput,
  RemoveContactInput,
  ReopenItemInput,
  ReplaceContactInput,
  addContactUpdate,
  addItemUpdate,
  cancelItemUpdate,
  changeQuestionUpdate,
  reassignItemUpdate,
  removeContactUpdate,
  reopenItemUpdate,
  replaceContactUpdate,
  type UpdateResult,
} from '../../domain/messages';
import { withClient } from '../client';
import { actor, checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import { CliError, Exit, type GlobalOptions } from '../output';
import { parseSpecText, readBounded } from '../spec-file';

interface Corrected extends GlobalOptions {
  by?: string;
  reason: string;
}

/** Checks the input here first (a typo is exit 2 with the option named), then sends it as an update. */
async function correct<S extends z.ZodType>(
  demandId: string,
  schema: S,
  def: UpdateDefinition<UpdateResult, [z.infer<S>]>,
  input: Record<string, unknown>,
  options: Record<string, string>,
  json: boolean | undefined,
): Promise<void> {
  checkDemandId(demandId);
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new CliError(
      parsed.error.issues
        .map((i) => {
          const key = i.path.map(String).join('.');
          const named = options[key] ?? options[String(i.path[0])] ?? key;
          return `${named}: ${i.message}`;
        })
        .join('\n'),
      Exit.invalid,
    );
  await withClient(async (ctx) => printUpdateResult(await sendUpdate(ctx, demandId, def, parsed.data), json));
}

const who = (cmd: Command) =>
  cmd
    .requiredOption(
      '--reason <text>',
      'why (recorded in the timeline; told to the counterparty where they are written to)',
    )
    .option('--by <who>', 'who decided it (default: your user@host)')
    .option('--json', 'print {ok, message, items?}');

const CONTACT_OPTIONS = {
  'contact.name': '--name',
  'contact.address': '--address',
  'contact.roles': '--role',
  'contact.title': '--title',
  'contact.timezone': '--timezone',
  'contact.language': '--language',
  'with.name': '--name',
  'with.address': '--address',
  'with.roles': '--role',
  'with.title': '--title',
  'with.timezone': '--timezone',
  'with.language': '--language',
  address: '<address>',
  itemIds: '--items',
  reason: '--reason',
  by: '--by',
};

interface ContactOptions extends Corrected {
  name: string;
  address: string;
  role?: string[];
  title?: string;
  timezone?: string;
  language?: string;
  items?: string[];
}

function person(opts: ContactOptions, defaultRoles?: string[]) {
  const roles = opts.role ?? defaultRoles;
  return {
    name: opts.name,
    address: opts.address,
    ...(roles ? { roles } : {}),
    ...(opts.title ? { title: opts.title } : {}),
    ...(opts.timezone ? { timezone: opts.timezone } : {}),
    ...(opts.language ? { language: opts.language } : {}),
  };
}

function registerContact(program: Command): void {
  const contact = program
    .command('contact')
    .description(
      "Correct a running demand's counterparty contacts: add, replace (someone left, an address bounced), remove",
    );

  who(
    contact
      .command('add')
      .argument('<demandId>', 'the demand id')
      .description('Add a counterparty contact; with --items they answer for those items and get their request now')
      .requiredOption('--name <name>', 'their name')
      .requiredOption('--address <address>', 'their address')
      .option('--role <role...>', 'their roles (default: primary)')
      .option('--title <title>', 'their title')
      .option('--timezone <zone>', "their IANA zone, when it is not the counterparty's")
      .option(
        '--language <language>',
        "the language they are written to in (en, fr), when it is not the counterparty's",
      )
      .option('--items <itemId...>', 'items they answer for from now on'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow contact add acme-api-usage-2023 --name "Sam Lee" --address sam.lee@acme.example --items atlas beacon --reason "owns the mobile apps"\n',
    )
    .action((demandId: string, opts: ContactOptions) =>
      correct(
        demandId,
        AddContactInput,
        addContactUpdate,
        {
          contact: person(opts, ['primary']),
          ...(opts.items ? { itemIds: opts.items } : {}),
          by: actor(opts.by),
          reason: opts.reason,
        },
        CONTACT_OPTIONS,
        opts.json,
      ),
    );

  who(
    contact
      .command('replace')
      .argument('<demandId>', 'the demand id')
      .argument('<address>', "the contact's current address")
      .description(
        "Replace a contact: the new one takes their roles and items and gets the request for every item still waiting (a bounced contact's request is sent again); the ladder goes on",
      )
      .requiredOption('--name <name>', "the new contact's name")
      .requiredOption('--address <address>', "the new contact's address")
      .option('--role <role...>', "their roles (default: the old contact's)")
      .option('--title <title>', 'their title')
      .option('--timezone <zone>', "their IANA zone (default: the old contact's)")
      .option('--language <language>', "the language they are written to in: en, fr (default: the old contact's)"),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow contact replace acme-api-usage-2023 priya.shah@acme.example --name "Ana Ortiz" --address ana.ortiz@acme.example --reason "Priya left Acme; her address bounces"\n',
    )
    .action((demandId: string, address: string, opts: ContactOptions) =>
      correct(
        demandId,
        ReplaceContactInput,
        replaceContactUpdate,
        { address, with: person(opts), by: actor(opts.by), reason: opts.reason },
        CONTACT_OPTIONS,
        opts.json,
      ),
    );

  who(
    contact
      .command('remove')
      .argument('<demandId>', 'the demand id')
      .argument('<address>', "the contact's address")
      .description('Remove a contact (refused while an open item or an escalation step would have nobody to write to)'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow contact remove acme-api-usage-2023 old.desk@acme.example --reason "mailbox closed"\n',
    )
    .action((demandId: string, address: string, opts: Corrected) =>
      correct(
        demandId,
        RemoveContactInput,
        removeContactUpdate,
        { address, by: actor(opts.by), reason: opts.reason },
        CONTACT_OPTIONS,
        opts.json,
      ),
    );
}

const ITEM_OPTIONS = {
  itemId: '<itemId>',
  contacts: '--to',
  number: '<number>',
  text: '--text',
  questions: '--question',
  dueAt: '--due',
  'item.id': '--id',
  'item.name': '--name',
  'item.description': '--description',
  'item.questions': '--question',
  'item.contacts': '--contact',
  'item.deadline': '--deadline',
  reason: '--reason',
  by: '--by',
};

interface AddItemOptions extends Corrected {
  file?: string;
  id?: string;
  name?: string;
  description?: string;
  question?: string[];
  contact?: string[];
  deadline?: string;
}

/** The item from --file (YAML or JSON, as in a spec's `items`), or from the options. */
function itemFrom(opts: AddItemOptions): unknown {
  if (!opts.file)
    return {
      id: opts.id,
      name: opts.name,
      ...(opts.description ? { description: opts.description } : {}),
      questions: opts.question,
      ...(opts.contact ? { contacts: opts.contact } : {}),
      ...(opts.deadline ? { deadline: opts.deadline } : {}),
    };
  if (opts.id || opts.name || opts.question || opts.description || opts.contact || opts.deadline)
    throw new CliError('give the item with --file or with --id/--name/--question, not both', Exit.invalid);
  let bytes: Buffer;
  try {
    bytes = readBounded(path.resolve(opts.file), 256 * 1024);
  } catch (err) {
    throw new CliError(`--file: cannot read ${opts.file}: ${(err as Error).message}`, Exit.invalid);
  }
  const parsed = parseSpecText(bytes.toString('utf8'), /\.json$/i.test(opts.file));
  if (!parsed.ok) throw new CliError(`--file: ${parsed.problems.map((p) => p.message).join('; ')}`, Exit.invalid);
  return parsed.data;
}

function registerItem(program: Command): void {
  const item = program
    .command('item')
    .description("Correct a running demand's items: add, reassign, cancel, change a question, reopen");

  who(
    item
      .command('add')
      .argument('<demandId>', 'the demand id')
      .description("Add an item (its own questions and deadline, default the demand's); its request goes out now")
      .option('--file <item.yaml>', "the item as in a spec's items list (YAML or JSON)")
      .option('--id <itemId>', 'its id (lower-case letters, digits, dashes)')
      .option('--name <name>', 'its name')
      .option('--description <text>', 'what it is')
      .option('--question <text...>', 'its questions')
      .option('--contact <address...>', 'who answers for it (default: the primary contacts)')
      .option('--deadline <datetime>', "its deadline, local to the counterparty or an instant (default: the demand's)"),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow item add acme-api-usage-2023 --id zephyr --name "Zephyr (internal tool)" --question "Which API data did Zephyr read?" --deadline 2027-06-21T17:00 --reason "found in the API logs"\n  npx auditflow item add acme-api-usage-2023 --file zephyr.yaml --reason "found in the API logs"\n',
    )
    .action((demandId: string, opts: AddItemOptions) =>
      correct(
        demandId,
        AddItemInput,
        addItemUpdate,
        { item: itemFrom(opts), by: actor(opts.by), reason: opts.reason },
        ITEM_OPTIONS,
        opts.json,
      ),
    );

  who(
    item
      .command('reassign')
      .argument('<demandId>', 'the demand id')
      .argument('<itemId>', 'the item')
      .description('Give an item to other counterparty contacts; those new to it get its request now')
      .requiredOption(
        '--to <address...>',
        'the contacts who answer for it from now on (already contacts of the demand)',
      ),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow item reassign acme-api-usage-2023 xbox --to sam.lee@acme.example --reason "Sam runs Xbox partnerships"\n',
    )
    .action((demandId: string, itemId: string, opts: Corrected & { to: string[] }) =>
      correct(
        demandId,
        ReassignItemInput,
        reassignItemUpdate,
        { itemId, contacts: opts.to, by: actor(opts.by), reason: opts.reason },
        ITEM_OPTIONS,
        opts.json,
      ),
    );

  who(
    item
      .command('cancel')
      .argument('<demandId>', 'the demand id')
      .argument('<itemId>', 'the item')
      .description('Cancel an item: it closes as withdrawn and its contacts are told no answer is needed'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow item cancel acme-api-usage-2023 beacon --reason "Beacon never used the API"\n',
    )
    .action((demandId: string, itemId: string, opts: Corrected) =>
      correct(
        demandId,
        CancelItemInput,
        cancelItemUpdate,
        { itemId, by: actor(opts.by), reason: opts.reason },
        ITEM_OPTIONS,
        opts.json,
      ),
    );

  who(
    item
      .command('question')
      .argument('<demandId>', 'the demand id')
      .argument('<itemId>', 'the item')
      .argument('[number]', 'the question to change, from 1 (omit to add a question)')
      .description("Change (or add) a question not yet answered; the item's contacts get the update")
      .requiredOption('--text <text>', 'the question as it should read'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow item question acme-api-usage-2023 xbox 2 --text "Which use cases were never declared, by quarter?" --reason "clarified scope"\n',
    )
    .action((demandId: string, itemId: string, number: string | undefined, opts: Corrected & { text: string }) => {
      if (number !== undefined && !/^\d+$/.test(number))
        throw new CliError(`<number>: "${number}" is not a question number (1, 2, ...)`, Exit.invalid);
      return correct(
        demandId,
        ChangeQuestionInput,
        changeQuestionUpdate,
        {
          itemId,
          ...(number !== undefined ? { number: Number(number) } : {}),
          text: opts.text,
          by: actor(opts.by),
          reason: opts.reason,
        },
        ITEM_OPTIONS,
        opts.json,
      );
    });

  who(
    item
      .command('reopen')
      .argument('<demandId>', 'the demand id')
      .argument('<itemId>', 'the item')
      .description('Reopen a closed item with a new round of questions and a deadline (the demand must still run)')
      .option('--question <text...>', "the new round's questions (default: the last round's)")
      .option(
        '--due <datetime>',
        'its deadline, local to the counterparty or an instant (default: review.followUpPeriod from now)',
      ),
  )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow item reopen acme-api-usage-2023 atlas --question "Your answer omits 2022: what did Atlas do with the data then?" --due 2027-07-01T17:00 --reason "new evidence"\n',
    )
    .action((demandId: string, itemId: string, opts: Corrected & { question?: string[]; due?: string }) =>
      correct(
        demandId,
        ReopenItemInput,
        reopenItemUpdate,
        {
          itemId,
          ...(opts.question ? { questions: opts.question } : {}),
          ...(opts.due ? { dueAt: opts.due } : {}),
          by: actor(opts.by),
          reason: opts.reason,
        },
        ITEM_OPTIONS,
        opts.json,
      ),
    );
}

export function register(program: Command): void {
  registerContact(program);
  registerItem(program);
}
