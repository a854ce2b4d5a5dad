/**
 * Every sub-command, in the order `--help` lists them, with the module that defines it. A command's module
 * (and what it needs: the Temporal client, the mail libraries) is loaded only when that command runs.
 */
import type { Command } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

/**
 * The top-level command names a module registers, and how to load it: `require` with a literal path, which
 * tsx runs from the sources and esbuild bundles, evaluated only when called (`import()` would bypass tsx's
 * CommonJS hook).
 */
const COMMANDS: { names: string[]; load: () => CommandModule }[] = [
  { names: ['validate'], load: () => require('./commands/validate') as CommandModule },
  { names: ['plan'], load: () => require('./commands/plan') as CommandModule },
  { names: ['start'], load: () => require('./commands/start') as CommandModule },
  { names: ['show'], load: () => require('./commands/show') as CommandModule },
  { names: ['list'], load: () => require('./commands/list') as CommandModule },
  { names: ['extend'], load: () => require('./commands/extend') as CommandModule },
  { names: ['pause', 'resume'], load: () => require('./commands/pause') as CommandModule },
  { names: ['record'], load: () => require('./commands/record') as CommandModule },
  { names: ['review'], load: () => require('./commands/review') as CommandModule },
  { names: ['approve', 'hold'], load: () => require('./commands/sign-off') as CommandModule },
  { names: ['contact', 'item'], load: () => require('./commands/correct') as CommandModule },
  { names: ['withdraw'], load: () => require('./commands/withdraw') as CommandModule },
  { names: ['report'], load: () => require('./commands/report') as CommandModule },
  { names: ['export'], load: () => require('./commands/export') as CommandModule },
  { names: ['verify'], load: () => require('./commands/verify') as CommandModule },
  { names: ['inbox'], load: () => require('./commands/inbox') as CommandModule },
  { names: ['digest'], load: () => require('./commands/digest') as CommandModule },
  { names: ['demo'], load: () => require('./commands/demo') as CommandModule },
  { names: ['doctor'], load: () => require('./commands/doctor') as CommandModule },
  { names: ['setup'], load: () => require('./commands/setup') as CommandModule },
  { names: ['codec-server'], load: () => require('./commands/codec-server') as CommandModule },
];

/**
 * Registers the command that `argv` names (its first word that is not an option), or every command when
 * it names none we know: `auditflow --help`, `help <command>` and a mistyped name need the whole list.
 */
export function registerCommands(program: Command, argv: string[]): void {
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  const named = COMMANDS.find((c) => word !== undefined && c.names.includes(word));
  for (const c of named ? [named] : COMMANDS) c.load().register(program);
}
