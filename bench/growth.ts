/**
 * Scenario 5, growth, on the time-skipping test server with the real worker in this process: the cost
 * of one unanswered demand run to referral for 1, 8, 32, 128 items; and the history of one parked demand
 * after waiting 1 day and 30 days (nothing is due in between, so it must not grow).
 */
import { temporal } from '@temporalio/proto';
import type { DemandSpecInput } from '../domain/demand';
import { harness, type Harness } from '../dev/support/harness';
import { benchSpec } from './specs';
import { round } from './util';

const DAY = 86_400_000;

async function historySize(h: Harness, workflowId: string): Promise<{ events: number; bytes: number }> {
  const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
  return {
    events: history.events?.length ?? 0,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
  };
}

export interface GrowthResult {
  perDemand: {
    items: number;
    historyEvents: number;
    historyBytes: number;
    messages: number;
    eventsPerItem: number;
    bytesPerItem: number;
    eventsPerMessage: number;
  }[];
  waited: {
    day1: { events: number; bytes: number; messages: number };
    day30: { events: number; bytes: number; messages: number };
    grewBy: number;
  };
}

export async function growth(o: { itemCounts: number[]; progress: (l: string) => void }): Promise<GrowthResult> {
  const h = await harness('time-skipping');
  try {
    const perDemand: GrowthResult['perDemand'] = [];
    for (const items of o.itemCounts) {
      const now = await h.env.currentTimeMs();
      const spec = benchSpec({ id: `growth-${items}`, items, startMs: now, deadlineDays: 30 });
      const handle = await h.start(spec as DemandSpecInput);
      await h.skipTo(now + 90 * DAY);
      await handle.result();
      const size = await historySize(h, handle.workflowId);
      const messages = (await h.status(spec.id)).messages.length;
      perDemand.push({
        items,
        historyEvents: size.events,
        historyBytes: size.bytes,
        messages,
        eventsPerItem: round(size.events / items, 2),
        bytesPerItem: Math.round(size.bytes / items),
        eventsPerMessage: round(size.events / messages, 2),
      });
      o.progress(`growth: ${items} items -> ${size.events} events, ${size.bytes} bytes, ${messages} messages`);
    }
    const now = await h.env.currentTimeMs();
    const spec = benchSpec({ id: 'growth-waited', items: 8, startMs: now, deadlineDays: 60 });
    const handle = await h.start(spec as DemandSpecInput);
    const at = async (days: number) => {
      await h.skipTo(now + days * DAY);
      const s = await h.settled(spec.id);
      return { ...(await historySize(h, handle.workflowId)), messages: s.messages.length };
    };
    const day1 = await at(1);
    const day30 = await at(30);
    o.progress(`growth: parked 8-item demand: ${day1.events} events after 1 day, ${day30.events} after 30 days`);
    return { perDemand, waited: { day1, day30, grewBy: day30.bytes - day1.bytes } };
  } finally {
    await h.close();
  }
}
