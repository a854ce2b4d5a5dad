/** `auditflow doctor`: checks everything auditflow needs, one line each, with what to do when it fails. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { temporal } from '@temporalio/proto';
import { Client, type Connection } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { TRIAGE_LIMITS } from '../../domain/limits';
import { inboxQuery, inboxWorkflowId } from '../../domain/triage';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFor } from '../../platform/codec';
import { loadConfig, loadEncryptionKeys, loadSecret, SecretError, type AuditflowConfig } from '../../platform/config';
import { connectClient, isRemoteTarget, loadTemporalTarget, type TemporalTarget } from '../../platform/temporal-target';
import { openStorage } from '../../platform/storage-open';
import { createMailTransport, redactSmtpUrl } from '../../platform/transport';
import { checkSearchAttributes, cliCreateCommand } from '../search-attributes';
import { Exit, printJson, safeLine, type GlobalOptions } from '../output';

/** One check's verdict. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when it failed. */
  fix?: string;
}

/** A worker counts as polling when it polled within this window (long polls last up to ~70 s). */
const POLLER_FRESH_MS = 90_000;

async function temporalChecks(
  target: TemporalTarget,
  config: AuditflowConfig,
  dataConverter: DataConverter,
): Promise<Check[]> {
  let connection: Connection | undefined;
  try {
    connection = await connectClient(target, 5000);
    await connection.workflowService.describeNamespace({ namespace: target.namespace });
  } catch (err) {
    await connection?.close();
    const fix = target.explicit
      ? 'check TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY (or your profile)'
      : 'start the local stack with: npm start';
    return [
      {
        name: 'temporal',
        ok: false,
        detail: `cannot reach ${target.description}: ${(err as Error).message.split('\n')[0]}`,
        fix,
      },
    ];
  }
  const checks: Check[] = [
    { name: 'temporal', ok: true, detail: `reachable at ${target.address}, namespace ${target.namespace} present` },
  ];
  try {
    const sa = await checkSearchAttributes(connection, target.namespace);
    const bad = [...sa.missing, ...sa.wrongType.map((w) => `${w.name} (is ${w.has}, needs ${w.want})`)];
    checks.push(
      bad.length === 0
        ? { name: 'search-attributes', ok: true, detail: `all ${sa.present.length} registered` }
        : {
            name: 'search-attributes',
            ok: false,
            detail: `missing or wrong: ${bad.join(', ')}`,
            fix: `run: npx auditflow setup   (or: ${cliCreateCommand(target.namespace, sa.missing)})`,
          },
    );
    const tq = await connection.workflowService.describeTaskQueue({
      namespace: target.namespace,
      taskQueue: { name: config.taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const now = Date.now();
    const fresh = (tq.pollers ?? []).filter((p) => {
      const t = p.lastAccessTime;
      const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
      return now - ms < POLLER_FRESH_MS;
    });
    checks.push(
      fresh.length > 0
        ? {
            name: 'worker',
            ok: true,
            detail: `${fresh.length} worker(s) polling task queue ${config.taskQueue} (${fresh.map((p) => p.identity).join(', ')})`,
          }
        : {
            name: 'worker',
            ok: false,
            detail: `no worker is polling task queue ${config.taskQueue}`,
            fix: 'start one with: npm start   (or: npm run worker with the same settings)',
          },
    );
    if (fresh.length > 0) checks.push(await inboxCheck(connection, target.namespace, config.taskQueue, dataConverter));
  } finally {
    await connection.close();
  }
  return checks;
}

/** How full the triage inbox is: when full, the gateway defers (451) what it would keep. */
async function inboxCheck(
  connection: Connection,
  namespace: string,
  taskQueue: string,
  dataConverter: DataConverter,
): Promise<Check> {
  const client = new Client({ connection, namespace, dataConverter });
  try {
    const state = await client.withDeadline(Date.now() + 10_000, () =>
      client.workflow.getHandle(inboxWorkflowId(taskQueue)).query(inboxQuery),
    );
    const waiting = state.entries.filter((e) => e.status === 'open').length;
    const detail = `${waiting} of at most ${TRIAGE_LIMITS.openEntries} messages wait for review${state.handled ? `, ${state.handled} decided` : ''}`;
    return waiting >= TRIAGE_LIMITS.openEntries * 0.8
      ? {
          name: 'triage-inbox',
          ok: false,
          detail: `${detail}; when it is full the gateway defers new ones (451)`,
          fix: 'decide some: npx auditflow inbox, then inbox assign or inbox discard',
        }
      : { name: 'triage-inbox', ok: true, detail };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      return { name: 'triage-inbox', ok: true, detail: 'empty: no message was ever kept for review' };
    return {
      name: 'triage-inbox',
      ok: false,
      detail: `cannot be read: ${(err as Error).message.split('\n')[0]}`,
      fix: 'check that a worker runs on this task queue (npm start)',
    };
  }
}

async function smtpCheck(config: AuditflowConfig): Promise<Check> {
  const transport = createMailTransport(config);
  try {
    await transport.verify();
    return { name: 'smtp', ok: true, detail: `${redactSmtpUrl(config.smtpUrl)} answers` };
  } catch (err) {
    return {
      name: 'smtp',
      ok: false,
      detail: `${redactSmtpUrl(config.smtpUrl)}: ${(err as Error).message}`,
      fix: config.smtpExplicit
        ? 'check SMTP_URL (host, port, user, password, TLS)'
        : 'start the local mail catcher with: npm start   (or set SMTP_URL)',
    };
  } finally {
    transport.close();
  }
}

function dataDirCheck(config: AuditflowConfig): Check {
  const probe = path.join(config.dataDir, `.doctor-${crypto.randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const fd = fs.openSync(probe, 'w');
    fs.writeSync(fd, 'ok');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.unlinkSync(probe);
    return { name: 'data-folder', ok: true, detail: `${config.dataDir} is writable` };
  } catch (err) {
    return {
      name: 'data-folder',
      ok: false,
      detail: `${config.dataDir}: ${(err as Error).message}`,
      fix: 'fix its permissions or point AUDITFLOW_DATA_DIR at a writable folder',
    };
  }
}

/** The shared storage: reachable and writable, and for S3 whether the bucket is versioned and locked. */
export async function storageChecks(config: AuditflowConfig): Promise<Check[]> {
  const storage = openStorage(config);
  const r = await storage.check({ write: true });
  if (!r.ok)
    return [
      {
        name: 'storage',
        ok: false,
        detail: r.detail,
        fix:
          storage.kind === 's3'
            ? r.problem === 'refused'
              ? 'check AUDITFLOW_STORAGE_URL (bucket, region, endpoint) and the AWS credentials'
              : 'the S3 endpoint does not answer: check that it runs and is reachable from here; the gateway answers 451 and activities retry until it is back'
            : "check AUDITFLOW_STORAGE_URL / AUDITFLOW_DATA_DIR and the folder's permissions",
      },
    ];
  const checks: Check[] = [{ name: 'storage', ok: true, detail: r.detail }];
  if (storage.kind === 's3') {
    const locked = r.objectLock?.startsWith('enabled') ?? false;
    const wanted = config.storage.kind === 's3' && config.storage.lockDays > 0;
    checks.push(
      locked || !wanted
        ? {
            name: 'object-lock',
            ok: true,
            detail: `bucket versioning ${r.versioning?.toLowerCase()}; Object Lock ${r.objectLock}`,
          }
        : {
            name: 'object-lock',
            ok: false,
            detail:
              `bucket versioning ${r.versioning?.toLowerCase() ?? 'unknown'}; ` +
              `Object Lock ${r.objectLock ?? 'unknown'}: evidence is not protected from deletion`,
            fix:
              'enable Object Lock on the bucket (README, "Running on several machines"), ' +
              'or set AUDITFLOW_STORAGE_LOCK_DAYS=0 to run without retention on purpose',
          },
    );
  }
  return checks;
}

/** Payload encryption: which keys, without creating a key file (doctor only reads). */
function encryptionCheck(
  config: AuditflowConfig,
  target: TemporalTarget,
): { check: Check; dataConverter: DataConverter } {
  if (!config.encryption.on)
    return {
      check: {
        name: 'encryption',
        ok: true,
        detail: 'off (AUDITFLOW_ENCRYPTION=off): payloads are stored in clear in Temporal',
      },
      dataConverter: {},
    };
  const file = path.join(config.dataDir, 'encryption-keys');
  if (!config.encryption.keys && config.storage.kind === 'file' && !isRemoteTarget(target) && !fs.existsSync(file))
    return {
      check: {
        name: 'encryption',
        ok: true,
        detail: `${file} does not exist yet; the first worker, gateway or CLI command generates it`,
      },
      dataConverter: {},
    };
  try {
    const keys = loadEncryptionKeys(config, { remote: isRemoteTarget(target) });
    const source = config.encryption.keys ? 'AUDITFLOW_ENCRYPTION_KEYS' : file;
    return {
      check: {
        name: 'encryption',
        ok: true,
        detail:
          `payloads encrypted with key "${keys![0]!.id}" (AES-256-GCM)${keys!.length > 1 ? `; ${keys!.length - 1} older key(s) still decrypt` : ''}; ` +
          `from ${source}`,
      },
      dataConverter: dataConverterFor(keys),
    };
  } catch (err) {
    if (!(err instanceof SecretError)) throw err;
    return {
      check: { name: 'encryption', ok: false, detail: `${err.file} ${err.problem}`, fix: err.fix },
      dataConverter: {},
    };
  }
}

function secretCheck(config: AuditflowConfig): Check {
  const previous = config.previousSecrets.length
    ? `; ${config.previousSecrets.length} earlier secret(s) in AUDITFLOW_SECRET_PREVIOUS still verify replies`
    : '';
  if (config.secretSource === 'env') return { name: 'secret', ok: true, detail: `AUDITFLOW_SECRET is set${previous}` };
  if (config.storage.kind !== 'file')
    return {
      name: 'secret',
      ok: false,
      detail: 'AUDITFLOW_SECRET is not set, and the storage is shared (s3://): every machine must use the same secret',
      fix: 'set the same AUDITFLOW_SECRET (openssl rand -hex 32) on every worker, gateway and CLI machine',
    };
  const file = path.join(config.dataDir, 'secret');
  const shared = '(set AUDITFLOW_SECRET when several machines run workers or gateways)';
  // Only read: doctor must not create the secret, nor hide a deleted one behind a fresh one.
  if (!fs.existsSync(file))
    return {
      name: 'secret',
      ok: true,
      detail: `${file} does not exist yet; the first worker or gateway generates it ${shared}`,
    };
  try {
    loadSecret(config);
    return { name: 'secret', ok: true, detail: `using the generated secret in ${file} ${shared}` };
  } catch (err) {
    if (!(err instanceof SecretError)) throw err;
    return { name: 'secret', ok: false, detail: `${err.file} ${err.problem}`, fix: err.fix };
  }
}

/** Runs every check. Settings problems are reported as a failed check, not thrown. */
export async function runDoctor(): Promise<Check[]> {
  let config: AuditflowConfig;
  let target: TemporalTarget;
  try {
    config = loadConfig();
    target = loadTemporalTarget(process.env, `localhost:${config.temporalPort}`);
  } catch (err) {
    return [
      { name: 'settings', ok: false, detail: (err as Error).message, fix: 'fix the environment variables named above' },
    ];
  }
  const encryption = encryptionCheck(config, target);
  const [t, smtp, storage] = await Promise.all([
    temporalChecks(target, config, encryption.dataConverter),
    smtpCheck(config),
    storageChecks(config),
  ]);
  return [
    { name: 'settings', ok: true, detail: 'environment variables are valid' },
    ...t,
    smtp,
    dataDirCheck(config),
    ...storage,
    secretCheck(config),
    encryption.check,
  ];
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check Temporal, search attributes, the worker, SMTP, the data folder, the storage and the secret')
    .option('--json', 'print the checks as JSON: {ok, checks: [{name, ok, detail, fix}]}')
    .addHelpText('after', '\nExample:\n  npx auditflow doctor\n')
    .action(async (opts: GlobalOptions) => {
      const checks = await runDoctor();
      const ok = checks.every((c) => c.ok);
      if (opts.json) printJson({ ok, checks });
      else {
        for (const c of checks) {
          // Details quote servers and error messages (an SMTP greeting is the server's to choose).
          process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(17)} ${safeLine(c.detail)}\n`);
          if (!c.ok && c.fix) process.stdout.write(`      ${''.padEnd(17)} -> ${safeLine(c.fix)}\n`);
        }
      }
      process.exitCode = ok ? Exit.ok : Exit.error;
    });
}
