/**
 * The benchmark's floor: a workflow of the same shape as one audit demand (one workflow per demand, one
 * activity per message at the same instants, one timer per wake-up, one signal per reply, an
 * acknowledgement activity per answer, two report writes and the owner's notice at the end) whose bodies
 * do nothing. Its schedule is the demand's own dry run (workflows/dry-run.ts), computed by the bench and
 * passed in, so the shadow never decides anything: what is left in our cost over it is our logic.
 * Bench-only: bundled by bench/shadow-worker.ts, never registered on the product's worker.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

/** One message of the dry run: milliseconds after the start, and the items it is about. */
export interface ShadowMail {
  at: number;
  itemIds: string[];
}

export interface ShadowDemandInput {
  itemIds: string[];
  /** The dry run's messages in time order, without the owner's final notice. */
  mails: ShadowMail[];
  /** Messages sent once the demand has ended (the owner's notice). */
  finalMails: number;
  /** Send an acknowledgement per answer, as `options.acknowledgeReplies` does. */
  acknowledge: boolean;
}

export interface ShadowDemandResult {
  activities: number;
}

export interface ShadowActivities {
  noop(input: { kind: string }): Promise<{ ok: true }>;
}

export const shadowReplySignal = defineSignal<[{ itemId: string }]>('replyReceived');
export const shadowStatusQuery = defineQuery<{ answered: string[] }>('status');

const { noop } = proxyActivities<ShadowActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m' },
});

export async function shadowDemandWorkflow(input: ShadowDemandInput): Promise<ShadowDemandResult> {
  const start = Date.now();
  const open = new Set(input.itemIds);
  const answered: string[] = [];
  const lastAt = new Map<string, number>();
  for (const m of input.mails) for (const id of m.itemIds) lastAt.set(id, Math.max(lastAt.get(id) ?? 0, m.at));
  let acks = 0;
  let version = 0;
  let activities = 0;
  setHandler(shadowReplySignal, ({ itemId }) => {
    if (open.delete(itemId)) {
      answered.push(itemId);
      if (input.acknowledge) acks += 1;
    }
    version += 1;
  });
  setHandler(shadowStatusQuery, () => ({ answered }));
  const send = async (n: number) => {
    activities += n;
    await Promise.all(Array.from({ length: n }, () => noop({ kind: 'mail' })));
  };
  const relevant = (m: ShadowMail) => m.itemIds.length === 0 || m.itemIds.some((id) => open.has(id));
  let next = 0;
  for (;;) {
    const now = Date.now() - start;
    let due = 0;
    for (; next < input.mails.length && input.mails[next]!.at <= now; next++)
      if (relevant(input.mails[next]!)) due += 1;
    // An unanswered item ends with the last step of its schedule (the referral).
    for (const id of [...open]) if ((lastAt.get(id) ?? 0) <= now) open.delete(id);
    const n = due + acks;
    acks = 0;
    if (n > 0) await send(n);
    if (open.size === 0 && acks === 0) break;
    while (next < input.mails.length && !relevant(input.mails[next]!)) next += 1;
    const seen = version;
    const wake = () => version !== seen || acks > 0;
    const upcoming = input.mails[next];
    if (upcoming) await condition(wake, Math.max(upcoming.at - (Date.now() - start), 1));
    else await condition(wake);
  }
  activities += 1;
  await noop({ kind: 'report' });
  await send(input.finalMails);
  activities += 1;
  await noop({ kind: 'report' });
  return { activities };
}
