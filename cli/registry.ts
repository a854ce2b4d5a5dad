/** Every sub-command, in the order `--help` lists them. */
import type { Command } from 'commander';
import * as codecServer from './commands/codec-server';
import * as correct from './commands/correct';
import * as demo from './commands/demo';
import * as digest from './commands/digest';
import * as doctor from './commands/doctor';
import * as extend from './commands/extend';
import * as exportCase from './commands/export';
import * as inbox from './commands/inbox';
import * as list from './commands/list';
import * as pause from './commands/pause';
import * as plan from './commands/plan';
import * as record from './commands/record';
import * as report from './commands/report';
import * as review from './commands/review';
import * as setup from './commands/setup';
import * as show from './commands/show';
import * as signOff from './commands/sign-off';
import * as start from './commands/start';
import * as validate from './commands/validate';
import * as verify from './commands/verify';
import * as withdraw from './commands/withdraw';

const COMMANDS = [
  validate,
  plan,
  start,
  show,
  list,
  extend,
  pause,
  record,
  review,
  signOff,
  correct,
  withdraw,
  report,
  exportCase,
  verify,
  inbox,
  digest,
  demo,
  doctor,
  setup,
  codecServer,
];

export function registerCommands(program: Command): void {
  for (const c of COMMANDS) c.register(program);
}
