/**
 * The gateway's fair floor for the throughput scenario: what any gateway that records mail must do per
 * message, and nothing more. It drains each message into its own spool file with an fdatasync, then sends
 * one signal RPC to Temporal, and only then answers `250`. The signals go to a few sink workflows on a task
 * queue no worker polls, so the floor pays the RPC and the server's durable append, not a workflow task.
 * Its own process, like the gateway and the bare sink. Needs TEMPORAL_ADDRESS; prints its port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SMTPServer } from 'smtp-server';

const SINKS = 8;

async function writeSynced(file: string, data: Buffer): Promise<void> {
  const fh = await fs.promises.open(file, 'w');
  try {
    await fh.write(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-fair-floor-'));
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  const tag = `fair-floor-${Date.now().toString(36)}`;
  const sinks = await Promise.all(
    Array.from({ length: SINKS }, (_, i) =>
      client.workflow.start('benchFairFloorSink', { taskQueue: tag, workflowId: `${tag}-${i}` }),
    ),
  );
  let n = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const i = n++;
        const file = path.join(spool, `${i}.eml`);
        writeSynced(file, Buffer.concat(chunks))
          .then(() => sinks[i % SINKS]!.signal('messageSpooled', { file }))
          .then(
            () => callback(),
            (err: Error) => callback(Object.assign(err, { responseCode: 451 })),
          );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  process.once('SIGTERM', () => {
    void Promise.allSettled(sinks.map((s) => s.terminate('bench over')))
      .then(() => fs.promises.rm(spool, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  });
}

void main().catch((err: Error) => {
  process.stderr.write(`fair floor: ${err.message}\n`);
  process.exit(1);
});
