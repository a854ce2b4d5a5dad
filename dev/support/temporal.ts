/**
 * The Temporal environments tests run against: the real dev server started by dev/run-tests.ts
 * (shared by every file, each test on its own task queue), and a time-skipping test server per test
 * for anything that waits on deadlines. A file run on its own starts its own dev server.
 */
import './quiet';
import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { startDevServer, type DevServer } from '../dev-server';
import { resolveTemporalBinary } from '../temporal-binaries';
import { AUDIT_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { bundleWorkflows } from '../../worker/main';
import { dataConverterFor, parseEncryptionKeys } from '../../platform/codec';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

/**
 * The payload encryption keys of every test process, client and worker (AUDITFLOW_ENCRYPTION_KEYS form):
 * tests run with encryption on, as the product does, and with the same key everywhere.
 */
export const TEST_ENCRYPTION_KEYS = 'test1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
/** The data converter for TEST_ENCRYPTION_KEYS. */
export const testDataConverter = dataConverterFor(parseEncryptionKeys(TEST_ENCRYPTION_KEYS));

let ownServer: Promise<DevServer> | undefined;

/** Address of the run's dev server (starting one for this file when run alone). */
export async function devServerAddress(): Promise<string> {
  const shared = process.env.AUDITFLOW_TEST_TEMPORAL_ADDRESS;
  if (shared) return shared;
  if (!ownServer) {
    ownServer = startDevServer({ uiPort: false });
    // Hooks registered from inside another hook run too early; stop it when this process ends.
    const server = await ownServer;
    process.once('exit', () => server.child.kill('SIGKILL'));
    // The server must not keep this process alive once its tests are done: 'exit' then stops it.
    server.child.unref();
    for (const stream of [server.child.stdout, server.child.stderr])
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
  return (await ownServer).address;
}

/** A client environment on the real dev server. */
export async function devEnv(
  address?: string,
  dataConverter: DataConverter = testDataConverter,
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({
    address: address ?? (await devServerAddress()),
    namespace: 'default',
    client: { dataConverter },
  });
}

const IVT = temporal.api.enums.v1.IndexedValueType;
const TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IVT.INDEXED_VALUE_TYPE_INT,
  DATETIME: IVT.INDEXED_VALUE_TYPE_DATETIME,
};

/** A fresh time-skipping test server with auditflow's search attributes registered. */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const bin = await resolveTemporalBinary('testServer', { sdkDownload: false });
  let lastError: unknown;
  // The SDK waits only 5 s for the server; on a loaded 2-core machine one more try is cheaper than a flaky test.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: bin.path } },
        client: { dataConverter: testDataConverter },
      });
      await env.connection.operatorService.addSearchAttributes({
        namespace: env.namespace ?? 'default',
        searchAttributes: Object.fromEntries(AUDIT_SEARCH_ATTRIBUTES.map((k) => [k.name, TYPES[k.type]!])),
      });
      return env;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

let bundlePath: Promise<string> | undefined;

/** The workflow bundle built once for the whole run (or once for this file when run alone). */
export function workflowBundlePath(): Promise<string> {
  if (process.env.AUDITFLOW_WORKFLOW_BUNDLE) return Promise.resolve(process.env.AUDITFLOW_WORKFLOW_BUNDLE);
  bundlePath ??= bundleWorkflows().then(({ code }) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-bundle-')), 'workflow-bundle.js');
    fs.writeFileSync(file, code);
    return file;
  });
  return bundlePath;
}

let counter = 0;
/** A task queue / id suffix unique to this process and test. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
