/**
 * Scenario 7, the cost of encryption: the same lifecycle and the same reply-latency run on two fresh
 * stacks, one with the payload codec on (the default) and one with AUDITFLOW_ENCRYPTION=off, one after the
 * other. The ratios are on over off; the other scenarios run with the codec on, so their ratios against
 * the shadow floor already include it (the shadow worker encrypts too).
 */
import { replyLatency } from './latency';
import { lifecycle } from './lifecycle';
import { startBenchStack } from './stack';
import { round } from './util';

export interface CodecSide {
  codec: 'on' | 'off';
  stateTransitionsPerItem: number;
  historyBytesPerItem: number;
  workerCpuSecondsPerItem: number;
  itemsPerSecond: number;
  replyLatencyP95Ms: number;
}

export interface CodecResult {
  on: CodecSide;
  off: CodecSide;
  ratios: {
    codecStateTransitionsPerItem: number;
    codecHistoryBytesPerItem: number;
    codecWorkerCpuPerItem: number;
    codecThroughput: number;
    codecReplyLatencyP95: number;
  };
}

async function side(
  codec: 'on' | 'off',
  o: { demands: number; items: number; deadlineIn: number; latencyDemands: number },
  progress: (l: string) => void,
): Promise<CodecSide> {
  const say = (l: string) => progress(`codec ${codec}: ${l}`);
  const stack = await startBenchStack(say, codec === 'off' ? { AUDITFLOW_ENCRYPTION: 'off' } : {});
  try {
    const lat = await replyLatency(stack, { demands: o.latencyDemands, progress: say });
    const life = await lifecycle(stack, {
      demands: o.demands,
      items: o.items,
      deadlineIn: o.deadlineIn,
      progress: say,
    });
    return {
      codec,
      stateTransitionsPerItem: life.ours.stateTransitionsPerItem,
      historyBytesPerItem: life.ours.historyBytesPerItem,
      workerCpuSecondsPerItem: life.ours.workerCpuSecondsPerItem,
      itemsPerSecond: life.ours.itemsPerSecond,
      replyLatencyP95Ms: lat.gatewayReplyMs.p95,
    };
  } finally {
    await stack.close();
  }
}

/** Runs both sides, on first. */
export async function codecCost(o: {
  demands: number;
  items: number;
  deadlineIn: number;
  latencyDemands: number;
  progress: (l: string) => void;
}): Promise<CodecResult> {
  const on = await side('on', o, o.progress);
  const off = await side('off', o, o.progress);
  return {
    on,
    off,
    ratios: {
      codecStateTransitionsPerItem: round(on.stateTransitionsPerItem / off.stateTransitionsPerItem),
      codecHistoryBytesPerItem: round(on.historyBytesPerItem / off.historyBytesPerItem),
      codecWorkerCpuPerItem: round(on.workerCpuSecondsPerItem / off.workerCpuSecondsPerItem),
      codecThroughput: round(on.itemsPerSecond / off.itemsPerSecond),
      codecReplyLatencyP95: round(on.replyLatencyP95Ms / off.replyLatencyP95Ms),
    },
  };
}
