/**
 * Scenario 6, the cost of shared storage: the same lifecycle and the same gateway blast on two fresh
 * stacks, one keeping its records in the data folder (file://) and one in an S3 bucket with Object Lock
 * (s3://, a local versitygw), one after the other on the same machine. The ratios are s3 over file.
 */
import { startS3Server } from '../dev/support/s3-server';
import { resolveVersitygw } from '../dev/versitygw';
import { lifecycle } from './lifecycle';
import { gatewayThroughput, parked } from './parked';
import { startBenchStack } from './stack';
import { round } from './util';

export interface StorageSide {
  storage: string;
  lifecycleItemsPerSecond: number;
  lifecycleWorkerCpuSecondsPerItem: number;
  gatewayMessagesPerSecond: number;
  gatewayFailures: number;
}

export interface StorageResult {
  file: StorageSide;
  s3: StorageSide;
  ratios: { s3LifecycleThroughput: number; s3WorkerCpuPerItem: number; s3GatewayThroughput: number };
}

async function side(
  name: string,
  env: Record<string, string>,
  o: { demands: number; items: number; deadlineIn: number; parked: number; messages: number },
  progress: (l: string) => void,
): Promise<StorageSide> {
  const say = (l: string) => progress(`storage (${name}): ${l}`);
  const stack = await startBenchStack(say, env);
  try {
    const life = await lifecycle(stack, {
      demands: o.demands,
      items: o.items,
      deadlineIn: o.deadlineIn,
      progress: say,
    });
    const { requests } = await parked(stack, { demands: o.parked, progress: say });
    const gw = await gatewayThroughput(stack, requests, { messages: o.messages, progress: say });
    return {
      storage: name,
      lifecycleItemsPerSecond: life.ours.itemsPerSecond,
      lifecycleWorkerCpuSecondsPerItem: life.ours.workerCpuSecondsPerItem,
      gatewayMessagesPerSecond: gw.gatewayMessagesPerSecond,
      gatewayFailures: gw.gatewayFailures,
    };
  } finally {
    await stack.close();
  }
}

/** Runs both sides; the S3 server is started here (versitygw, built once per machine when missing). */
export async function storageCost(o: {
  demands: number;
  items: number;
  deadlineIn: number;
  parked: number;
  messages: number;
  progress: (l: string) => void;
}): Promise<StorageResult> {
  const file = await side('file', {}, o, o.progress);
  const s3 = await startS3Server({ binary: (await resolveVersitygw({ log: o.progress })).path });
  try {
    const env = { ...s3.env(`bench-${Date.now().toString(36)}`) };
    // The bench process itself reads nothing from the bucket; the worker and gateway get the credentials.
    const onS3 = await side(`s3 ${s3.endpoint}`, env, o, o.progress);
    return {
      file,
      s3: onS3,
      ratios: {
        s3LifecycleThroughput: round(onS3.lifecycleItemsPerSecond / file.lifecycleItemsPerSecond),
        s3WorkerCpuPerItem: round(onS3.lifecycleWorkerCpuSecondsPerItem / file.lifecycleWorkerCpuSecondsPerItem),
        s3GatewayThroughput: round(onS3.gatewayMessagesPerSecond / file.gatewayMessagesPerSecond),
      },
    };
  } finally {
    await s3.close();
  }
}
