/**
 * The shadow worker, a process of its own so that its CPU and memory are measured apart from the real
 * worker's: bench/shadow-workflow.ts with a no-op activity. Env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { ShadowActivities } from './shadow-workflow';
import { dataConverterFor, parseEncryptionKeys } from '../platform/codec';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  const activities: ShadowActivities = { noop: async () => ({ ok: true }) };
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: process.env.BENCH_TASK_QUEUE ?? 'bench-shadow',
    workflowsPath: require.resolve('./shadow-workflow'),
    activities,
    // The floor pays for encryption too when the product does (the same keys as the real worker).
    dataConverter: dataConverterFor(
      process.env.AUDITFLOW_ENCRYPTION_KEYS ? parseEncryptionKeys(process.env.AUDITFLOW_ENCRYPTION_KEYS) : undefined,
    ),
    shutdownGraceTime: '5s',
  });
  process.once('SIGTERM', () => worker.shutdown());
  // Never outlive the bench that started it.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && worker.shutdown(), 1000).unref();
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`shadow worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
