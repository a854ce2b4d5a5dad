/** The CLI's connection to Temporal: envconfig settings, a clear error when the server is not there. */
import { Client, type Connection } from '@temporalio/client';
import { dataConverterFor } from '../platform/codec';
import { loadConfig, loadEncryptionKeys, type AuditflowConfig } from '../platform/config';
import { connectClient, isRemoteTarget, loadTemporalTarget, type TemporalTarget } from '../platform/temporal-target';
import type { Storage } from '../platform/storage';
import { clientTracing, startTracing } from '../platform/tracing';
import { openStorage } from '../platform/storage-open';
import { CliError, Exit } from './output';

/** Config, target and a connected client; call close() when done. */
export interface CliContext {
  config: AuditflowConfig;
  target: TemporalTarget;
  client: Client;
  connection: Connection;
  /** The shared storage (reports, evidence, triage log), opened on first use. */
  readonly storage: Storage;
  close(): Promise<void>;
}

/** The storage of the settings, opened once on first use. */
export function lazyStorage(config: AuditflowConfig): { readonly storage: Storage } {
  let storage: Storage | undefined;
  return {
    get storage() {
      return (storage ??= openStorage(config));
    },
  };
}

/** Reads settings; bad ones are invalid input (exit 2). */
export function loadSettings(): { config: AuditflowConfig; target: TemporalTarget } {
  try {
    const config = loadConfig();
    return { config, target: loadTemporalTarget(process.env, `localhost:${config.temporalPort}`) };
  } catch (err) {
    throw new CliError((err as Error).message, Exit.invalid);
  }
}

/** Connects to Temporal, or fails with what to do. */
export async function connect(): Promise<CliContext> {
  const { config, target } = loadSettings();
  // Before connecting: a missing or unreadable key is a bad setting (exit 2), whatever the server does.
  const dataConverter = dataConverterFor(loadEncryptionKeys(config, { remote: isRemoteTarget(target) }));
  let connection;
  try {
    connection = await connectClient(target, 5000);
    await connection.workflowService.describeNamespace({ namespace: target.namespace });
  } catch (err) {
    await connection?.close();
    throw new CliError(
      `cannot reach Temporal at ${target.description}: ${(err as Error).message.split('\n')[0]}\n` +
        'Start the local stack with: npm start   (or point TEMPORAL_ADDRESS / a Temporal profile at your cluster; see README)',
    );
  }
  // With OTEL_EXPORTER_OTLP_ENDPOINT set a demand's trace starts here, at StartWorkflow; off, no SDK loads.
  const tracing = config.tracing ? await startTracing(config.tracing, 'auditflow-cli') : undefined;
  const interceptors = await clientTracing(tracing);
  const client = new Client({ connection, namespace: target.namespace, dataConverter, interceptors });
  const close = async () => {
    await connection.close();
    await tracing?.shutdown();
  };
  return Object.assign(lazyStorage(config), { config, target, client, connection, close });
}

/** Runs a function with a connected client and always closes it. */
export async function withClient<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = await connect();
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
