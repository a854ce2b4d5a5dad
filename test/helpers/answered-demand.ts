/**
 * A demand with a history worth reporting, made through real parts: started on the real worker, one
 * item answered on time by a DKIM-signed reply through the SMTP gateway (hostile subject and text, a PDF
 * attached), one item answered late with `auditflow record --attach` after its deadline passed, and
 * the on-time answer accepted with `auditflow review`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { auditflow, type RunResult } from './cli';
import { eventually } from '../../platform/wait';
import type { TestGateway } from './gateway';
import { type Harness } from '../../dev/support/harness';
import { compose, replyAddress, replyTo } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';

/** Text a counterparty controls, made to break HTML that is not escaped. */
export const HOSTILE_SUBJECT = 'Re: Audit demand [xbox] <script>alert(1)</script>';
export const HOSTILE_TEXT = 'Inventory attached. "onerror=alert(2) <img src=x onerror=alert(3)>';

export interface AnsweredDemand {
  id: string;
  /** Environment for running the CLI against the harness. */
  env: Record<string, string>;
  run(...args: string[]): Promise<RunResult>;
  request: ReceivedMail;
  /** The reply's raw bytes as sent to the gateway, and its Message-ID. */
  replyRaw: Buffer;
  replyMessageId: string;
  inventory: Buffer;
  letter: Buffer;
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** Starts and answers a demand as described above; every step is checked before the next. */
export async function answeredDemand(h: Harness, gw: TestGateway, prefix: string): Promise<AnsweredDemand> {
  const id = `${prefix}-${Date.now().toString(36)}`;
  const env = h.cliEnv();
  const run = (...args: string[]) => auditflow(args, env);
  const base = sampleSpec(id, { deadline: '2030-06-07T17:00' });
  // psn is due a few seconds after the start, so that its answer is late.
  const psnDue = new Date(Date.now() + 3000).toISOString();
  await h.start({ ...base, items: base.items.map((i) => (i.id === 'psn' ? { ...i, deadline: psnDue } : i)) });
  const request = (
    await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'request'), 'the request')
  ).find((x) => x.header('x-auditflow-kind') === 'request')!;

  const inventory = Buffer.from('%PDF-1.4 data inventory of the Xbox companion app');
  const mail = replyTo(request, HOSTILE_SUBJECT, HOSTILE_TEXT, {
    attachments: [{ filename: 'inventory.pdf', content: inventory, contentType: 'application/pdf' }],
  });
  const replyRaw = await compose(mail, true);
  const sent = await gw.send(replyRaw, { from: 'pat@acme.example', to: [replyAddress(request)] });
  if (sent.code !== 250) throw new Error(`the gateway refused the reply: ${sent.response}`);
  await eventually(
    async () =>
      (await h.settled(id)).items.find((i) => i.id === 'xbox')!.answers[0]?.attachments[0]?.sha256 === sha(inventory)
        ? true
        : undefined,
    'the reply to be recorded on xbox',
  );

  await eventually(
    async () => ((await h.status(id)).items.find((i) => i.id === 'psn')!.phase === 'overdue' ? true : undefined),
    'psn to be overdue',
  );
  const letter = Buffer.from('%PDF-1.4 signed letter about the PSN bridge');
  const letterFile = path.join(h.config.dataDir, 'letter.pdf');
  fs.writeFileSync(letterFile, letter);
  const rec = await run(
    'record',
    id,
    '--item',
    'psn',
    '--channel',
    'post',
    '--summary',
    'Late letter <b>by post</b>',
    '--attach',
    letterFile,
    '--by',
    'Dana Owner',
  );
  if (rec.code !== 0) throw new Error(`record failed: ${rec.stderr}`);
  const review = await run('review', id, 'xbox', '--accept', '--by', 'Chris Counsel');
  if (review.code !== 0) throw new Error(`review failed: ${review.stderr}`);
  await h.settled(id);
  return { id, env, run, request, replyRaw, replyMessageId: mail.messageId, inventory, letter };
}

/** Withdraws the demand and waits for the workflow to end (it writes the final report on the way). */
export async function endByWithdrawal(h: Harness, d: AnsweredDemand): Promise<void> {
  const w = await d.run('withdraw', d.id, '--reason', 'settled <out of court>', '--by', 'Dana Owner');
  if (w.code !== 0) throw new Error(`withdraw failed: ${w.stderr}`);
  await h.env.client.workflow.getHandle(`audit:${d.id}`).result();
}
