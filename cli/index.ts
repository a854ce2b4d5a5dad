/**
 * The `auditflow` command: one sub-command per file in cli/commands, each with --help (and an
 * example) and --json. Exit 0 on success, 1 on an error, 2 on invalid input.
 */
import { Command, CommanderError } from 'commander';
import { SecretError } from '../platform/config';
import { StorageUnavailable } from '../platform/storage';
import { CliError, Exit, printJson, safeBlock } from './output';
import { registerCommands } from './registry';

const program = new Command('auditflow')
  .description('Run compliance audit demands as durable Temporal workflows.')
  .showHelpAfterError('(run with --help for usage and an example)')
  .configureOutput({ writeErr: (s) => process.stderr.write(safeBlock(s)) })
  .exitOverride();

async function main(argv: string[]): Promise<number> {
  try {
    registerCommands(program, argv);
    await program.parseAsync(argv);
    return Number(process.exitCode ?? Exit.ok);
  } catch (thrown) {
    // An unusable secret file is a bad setting, like a bad variable: say what to do, no stack.
    const err =
      thrown instanceof SecretError
        ? new CliError(thrown.message, Exit.invalid)
        : thrown instanceof StorageUnavailable
          ? new CliError(`${thrown.message}\nnpx auditflow doctor checks the storage settings.`)
          : thrown;
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors are invalid input.
      return err.exitCode === 0 ? Exit.ok : Exit.invalid;
    }
    const json = argv.includes('--json');
    if (err instanceof CliError) {
      if (json)
        printJson({ ok: false, error: err.message, ...(err.details !== undefined ? { details: err.details } : {}) });
      // Messages quote what they were given (ids, file contents, server replies): controls are written out.
      else process.stderr.write(`error: ${safeBlock(err.message)}\n`);
      return err.exitCode;
    }
    if (json) printJson({ ok: false, error: (err as Error).message });
    else process.stderr.write(`error: ${safeBlock(String((err as Error).stack ?? err))}\n`);
    return Exit.error;
  }
}

/**
 * Exits once everything written to stdout and stderr has been handed to the OS. On a pipe node writes
 * asynchronously, and process.exit() drops what is still queued: `--json | jq` got the first 64-128 KB.
 */
function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    // A reader that went away (`| head`) leaves nothing to wait for; its EPIPE is not our error.
    stream.once('error', () => undefined);
    stream.write('', done);
  }
}

void main(process.argv).then(exitAfterOutput);
