/**
 * The worker-kill drill's aimed kill: the worker dies inside its SMTP transactions. Outbound SMTP holds
 * every new connection (the server has not greeted yet), the demands' requests go out, and the worker is
 * SIGKILLed once every request is claimed in the send ledger and a connection is waiting for its greeting.
 * Nothing can have reached the server, so each request must arrive exactly once, with the Message-ID its
 * dead attempt claimed, and within `limitMs` of the kill: a retry that waits for the 2-minute
 * start-to-close timeout cannot. The time from the kill to the arrivals is printed either way.
 */
import { eventually } from '../../platform/wait';
import type { DrillStack } from './stack';

/** Half the old 2-minute start-to-close timeout: a retry that waits for it cannot pass, one that heartbeats has room. */
export const MID_SEND_LIMIT_MS = 60_000;

/** The aimed kill's outcome: what to print, and what went wrong. */
export interface MidSendKill {
  line: string;
  problems: string[];
  /** The arrivals after the kill, measured again when the drill ends (they may come after the limit). */
  settle(): { line: string; problems: string[] };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Message-IDs of the sends claimed in the ledger and not finished (status `sending`). */
async function claimedSends(stack: DrillStack): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await stack.storage.list('mail/ledger/')) {
    const found = await stack.storage.get(key);
    const record = found && (JSON.parse(found.body.toString('utf8')) as { status: string; messageId: string });
    if (record?.status === 'sending') ids.push(record.messageId);
  }
  return ids;
}

/** Starts `demands` demands with SMTP held, kills the worker mid-send, restarts it after `restartAfterMs`. */
export async function killMidSend(
  stack: DrillStack,
  o: { demands: number; deadlineIn: number; restartAfterMs: number; limitMs?: number },
): Promise<MidSendKill> {
  const limitMs = o.limitMs ?? MID_SEND_LIMIT_MS;
  const arrivals = new Map<string, number[]>();
  stack.sink.onMail((m) => {
    const id = m.parsed.messageId ?? '';
    arrivals.set(id, [...(arrivals.get(id) ?? []), Date.now()]);
  });
  stack.smtp.hold();
  await stack.startDemands(o.demands, o.deadlineIn, 'kill');
  // Well inside nodemailer's 15-second greeting timeout, so the attempts are still waiting when they die.
  const claimed = await eventually(
    async () => {
      const ids = await claimedSends(stack);
      return ids.length >= o.demands && stack.smtp.held > 0 && ids;
    },
    () => `every request claimed in the ledger and a connection waiting for its greeting (${stack.smtp.held} held)`,
    { timeoutMs: 12_000, intervalMs: 100 },
  );
  const inSmtp = stack.smtp.held;
  await stack.worker.kill('SIGKILL');
  const killedAt = Date.now();
  stack.smtp.release();
  await new Promise((r) => setTimeout(r, o.restartAfterMs));
  await stack.worker.start();
  const readyIn = Date.now() - killedAt;
  const arrived = () => claimed.filter((id) => arrivals.has(id)).length;
  const problems: string[] = [];
  await eventually(() => arrived() === claimed.length, 'the sends in flight at the kill to arrive', {
    timeoutMs: Math.max(limitMs - (Date.now() - killedAt), 0),
    intervalMs: 100,
  }).catch(() =>
    problems.push(
      `${claimed.length - arrived()} of ${claimed.length} sends in flight at the kill had not arrived ${secs(limitMs)} after it`,
    ),
  );
  const line =
    `aimed kill: SIGKILL worker with ${claimed.length} requests claimed and ${inSmtp} SMTP connections ` +
    `waiting for their greeting; restarted, ready ${secs(readyIn)} after the kill`;
  return {
    line,
    problems,
    settle() {
      const firsts = claimed.map((id) => arrivals.get(id)?.[0]).filter((t): t is number => t !== undefined);
      const copies = claimed.filter((id) => (arrivals.get(id)?.length ?? 0) > 1);
      const late = claimed.length - firsts.length;
      return {
        line:
          `the ${claimed.length} sends in flight at the aimed kill arrived ` +
          (firsts.length
            ? `${secs(Math.min(...firsts) - killedAt)} (first) to ${secs(Math.max(...firsts) - killedAt)} (last) after it`
            : 'never') +
          `; each with the Message-ID its dead attempt claimed${copies.length ? `; ${copies.length} more than once` : ', once'}`,
        problems: [
          ...(late ? [`${late} sends in flight at the aimed kill never arrived`] : []),
          ...copies.map(
            (id) => `${id} arrived ${arrivals.get(id)!.length} times after the aimed kill (nothing had reached SMTP)`,
          ),
        ],
      };
    },
  };
}
