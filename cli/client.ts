/** The CLI's connection to Temporal: envconfig settings, a clear error when the server is not there. */
import type { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFor } from '../platform/codec';
import { loadConfig, loadEncryptionKeys, type AuditflowConfig } from '../platform/config';
import { connectClient, isRemoteTarget, loadTemporalTarget, type TemporalTarget } from '../platform/temporal-target';
import type { Storage } from '../platform/storage';
import { clientTracing, startTracing } from '../platform/tracing';
import { openStorage } from '../platform/storage-open';
import { TemporalReader } from '../platform/temporal-read';
import { CliError, Exit } from './output';

/**
 * Config, target and a reader of demands (describe, query, list, without the Temporal client: see
 * platform/temporal-read.ts); call close() when done. `show` and `list` need nothing more.
 */
export interface ReaderContext {
  config: AuditflowConfig;
  target: TemporalTarget;
  reader: TemporalReader;
  /** The shared storage (reports, evidence, triage log), opened on first use. */
  readonly storage: Storage;
  close(): Promise<void>;
}

/** A reader and a connected Temporal client, for the commands that start, signal, update or terminate. */
export interface CliContext extends ReaderContext {
  client: Client;
  connection: Connection;
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

/** The refusal when the server does not answer: where it was looked for, and what to do. */
function unreachable(target: TemporalTarget, err: unknown): CliError {
  // grpc-js ends its message with an empty "Resolution note: " when the address resolved.
  const reason = (err as Error).message.split('\n')[0]!.replace(/\s*Resolution note:\s*$/, '');
  return new CliError(
    `cannot reach Temporal at ${target.description}: ${reason}\n` +
      'Start the local stack with: npm start   (or point TEMPORAL_ADDRESS / a Temporal profile at your cluster; see README)',
  );
}

/** Settings, the data converter of the settings' keys, and a reader that reached the namespace. */
async function openReader(): Promise<{
  config: AuditflowConfig;
  target: TemporalTarget;
  dataConverter: DataConverter;
  reader: TemporalReader;
}> {
  const { config, target } = loadSettings();
  // Before connecting: a missing or unreadable key is a bad setting (exit 2), whatever the server does.
  const dataConverter = dataConverterFor(loadEncryptionKeys(config, { remote: isRemoteTarget(target) }));
  try {
    return { config, target, dataConverter, reader: await TemporalReader.connect(target, dataConverter, 5000) };
  } catch (err) {
    throw unreachable(target, err);
  }
}

/** Connects a reader only (no Temporal client is loaded), or fails with what to do. */
export async function connectReader(): Promise<ReaderContext> {
  const { config, target, reader } = await openReader();
  const close = async () => reader.close();
  return Object.assign(lazyStorage(config), { config, target, reader, close });
}

/** Connects a reader and the Temporal client, or fails with what to do. */
export async function connect(): Promise<CliContext> {
  const { config, target, dataConverter, reader } = await openReader();
  let connection;
  try {
    connection = await connectClient(target, 5000);
  } catch (err) {
    reader.close();
    throw unreachable(target, err);
  }
  // With OTEL_EXPORTER_OTLP_ENDPOINT set a demand's trace starts here, at StartWorkflow; off, no SDK loads.
  const tracing = config.tracing ? await startTracing(config.tracing, 'auditflow-cli') : undefined;
  const interceptors = await clientTracing(tracing);
  const { Client } = await import('@temporalio/client');
  const client = new Client({ connection, namespace: target.namespace, dataConverter, interceptors });
  const close = async () => {
    reader.close();
    await connection.close();
    await tracing?.shutdown();
  };
  return Object.assign(lazyStorage(config), { config, target, reader, client, connection, close });
}

/** Runs a function with a connected client and always closes it. */
export async function withClient<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  return within(await connect(), fn);
}

/** Runs a function with a reader only and always closes it. */
export async function withReader<T>(fn: (ctx: ReaderContext) => Promise<T>): Promise<T> {
  return within(await connectReader(), fn);
}

async function within<C extends ReaderContext, T>(ctx: C, fn: (ctx: C) => Promise<T>): Promise<T> {
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
