/**
 * auditflow's own settings, read from the environment and validated with zod at start-up. A bad value
 * stops the process with a message that names the variable and says what to do.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseEncryptionKeys, type EncryptionKey } from './encryption-keys';
import { PROJECT_ROOT } from './paths';

export const DEFAULT_TASK_QUEUE = 'audit-demands';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

/** A URL whose scheme is one of `protocols` (e.g. `['smtp:', 'smtps:']`); `message` says what is expected. */
const urlOf = (protocols: string[], message: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, message);

const smtpUrl = urlOf(
  ['smtp:', 'smtps:'],
  'must be a URL like smtp://user:pass@mail.example.com:587 or smtps://mail.example.com:465',
);

/** A Prometheus endpoint's listen address: `host:port`, `:port` (127.0.0.1) or `off`. */
const metricsAddress = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform((v, ctx) => {
      if (v.toLowerCase() === 'off') return undefined;
      const m = /^(.*):(\d{1,5})$/.exec(v);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: 'must be host:port (e.g. 127.0.0.1:9464), :port, or off' });
        return z.NEVER;
      }
      return { host: m[1] === '' ? '127.0.0.1' : m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
    });

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'must be a domain name such as replies.example.com',
  );

/** Every environment variable auditflow reads (Temporal's own TEMPORAL_* are read by envconfig). */
export const EnvSchema = z.object({
  AUDITFLOW_DATA_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  AUDITFLOW_TASK_QUEUE: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .default(DEFAULT_TASK_QUEUE),
  SMTP_URL: smtpUrl.optional(),
  AUDITFLOW_SMTP_PORT: port(1025),
  AUDITFLOW_UI_PORT: port(8233),
  AUDITFLOW_CODEC_PORT: port(8888),
  AUDITFLOW_CODEC_HOST: z.string().trim().min(1, 'must be a host name or address').default('127.0.0.1'),
  AUDITFLOW_CODEC_TOKEN: z.string().min(16, 'must be at least 16 characters (try: openssl rand -hex 24)').optional(),
  AUDITFLOW_TEMPORAL_PORT: port(7233),
  AUDITFLOW_GATEWAY_PORT: port(2525),
  AUDITFLOW_SECRET: z.string().min(32, 'must be at least 32 characters (try: openssl rand -hex 32)').optional(),
  AUDITFLOW_SECRET_PREVIOUS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => list.every((s) => s.length >= 32),
      'must be a comma-separated list of earlier AUDITFLOW_SECRET values, each at least 32 characters',
    )
    .optional(),
  AUDITFLOW_ENCRYPTION_KEYS: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseEncryptionKeys(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
  AUDITFLOW_ENCRYPTION: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  AUDITFLOW_STORAGE_URL: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      const parsed = parseStorageUrl(v);
      if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
    })
    .optional(),
  AUDITFLOW_STORAGE_LOCK_MODE: z
    .enum(['COMPLIANCE', 'GOVERNANCE'], { error: 'must be COMPLIANCE or GOVERNANCE' })
    .default('COMPLIANCE'),
  AUDITFLOW_STORAGE_LOCK_DAYS: z.coerce
    .number({ error: 'must be a number of days' })
    .int('must be a whole number')
    .min(0, 'must be 0 (no retention) or more')
    .max(36_500, 'must be at most 36500 (100 years)')
    .default(2557),
  AUDITFLOW_REPLY_DOMAIN: domainName.default('reply.auditflow.localhost'),
  AUDITFLOW_REPLY_LOCAL_PART: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,20}$/, 'must be 1-21 lower-case letters, digits, dot, dash or underscore')
    .default('audit'),
  AUDITFLOW_GATEWAY_HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  AUDITFLOW_GATEWAY_MAX_BYTES: z.coerce
    .number({ error: 'must be a number of bytes' })
    .int('must be a whole number')
    .min(64 * 1024, 'must be at least 65536')
    .max(200 * 1024 * 1024, 'must be at most 209715200')
    .default(25 * 1024 * 1024),
  AUDITFLOW_GATEWAY_TLS_KEY: z.string().trim().min(1).optional(),
  AUDITFLOW_GATEWAY_TLS_CERT: z.string().trim().min(1).optional(),
  AUDITFLOW_GATEWAY_HOSTNAME: z.string().trim().min(1).optional(),
  AUDITFLOW_TRUSTED_ARC_SEALERS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine(
      (list) => list.every((d) => /^[a-z0-9.-]+\.[a-z]{2,}$/.test(d)),
      'must be a comma-separated list of domains such as forwarder.example.com',
    )
    .optional(),
  AUDITFLOW_INBOUND_AUTH: z.enum(['enforce', 'report'], { error: 'must be enforce or report' }).default('enforce'),
  AUDITFLOW_GATEWAY_CONNECTIONS_PER_CLIENT: z.coerce
    .number({ error: 'must be a number of connections' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(20),
  AUDITFLOW_GATEWAY_IDLE_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number')
    .min(5, 'must be at least 5')
    .max(600, 'must be at most 600')
    .default(60),
  AUDITFLOW_GATEWAY_PARSERS: z.coerce
    .number({ error: 'must be a number of messages' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(64, 'must be at most 64')
    .default(2),
  AUDITFLOW_GATEWAY_PARSE_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.001, 'must be more than 0')
    .max(600, 'must be at most 600')
    .default(15),
  AUDITFLOW_GATEWAY_ACCEPT: z
    .enum(['recorded', 'spooled'], { error: 'must be recorded or spooled' })
    .default('recorded'),
  AUDITFLOW_GATEWAY_SPOOL_GRACE_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(3600, 'must be at most 3600')
    .default(60),
  AUDITFLOW_IMAP_URL: urlOf(
    ['imap:', 'imaps:'],
    'must be a URL like imaps://user:password@imap.example.com:993',
  ).optional(),
  AUDITFLOW_IMAP_FOLDER: z.string().trim().min(1).default('INBOX'),
  AUDITFLOW_IMAP_PROCESSED: z.string().trim().min(1).default('Processed'),
  AUDITFLOW_IMAP_QUARANTINE: z.string().trim().min(1).default('Quarantine'),
  AUDITFLOW_IMAP_POLL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number')
    .min(5, 'must be at least 5')
    .max(3600, 'must be at most 3600')
    .default(60),
  AUDITFLOW_UI_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://temporal.example.com' })
    .optional(),
  AUDITFLOW_WORKFLOW_CACHE: z.coerce
    .number({ error: 'must be a number of workflows' })
    .int('must be a whole number')
    .min(10, 'must be at least 10')
    .max(100_000, 'must be at most 100000')
    .default(150),
  AUDITFLOW_WORKER_HEAP_MB: z.coerce
    .number({ error: 'must be a number of megabytes' })
    .int('must be a whole number')
    .min(256, 'must be at least 256')
    .max(65_536, 'must be at most 65536')
    .default(640),
  AUDITFLOW_LOG_LEVEL: z
    .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], { error: 'must be one of TRACE, DEBUG, INFO, WARN, ERROR' })
    .default('INFO'),
  AUDITFLOW_WORKER_METRICS: metricsAddress('127.0.0.1:9464'),
  AUDITFLOW_GATEWAY_METRICS: metricsAddress('127.0.0.1:9465'),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlOf(
    ['http:', 'https:'],
    'must be the OTLP/HTTP base URL of a collector, e.g. http://127.0.0.1:4318',
  ).optional(),
  OTEL_SERVICE_NAME: z
    .string()
    .trim()
    .regex(/^[\w.-]{1,100}$/, 'must be a service name of letters, digits, ".", "-" or "_"')
    .optional(),
  AUDITFLOW_METRICS_POLL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number')
    .min(5, 'must be at least 5')
    .max(3600, 'must be at most 3600')
    .default(30),
});

export type EnvSettings = z.infer<typeof EnvSchema>;

/** Where evidence, the send ledger, reports and the triage log are kept (AUDITFLOW_STORAGE_URL). */
export type StorageSettings =
  | { kind: 'file'; root: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix inside the bucket: '' or ending in '/'. */
      prefix: string;
      endpoint?: string;
      region: string;
      pathStyle: boolean;
      lockMode: 'COMPLIANCE' | 'GOVERNANCE';
      /** Retention given to each evidence object when the bucket has Object Lock; 0: none. */
      lockDays: number;
    };

const S3_OPTIONS = ['endpoint', 'region', 'pathStyle'];

/**
 * Reads `file://<folder>` or `s3://<bucket>/<prefix>?endpoint=<url>&region=<region>&pathStyle=true`.
 * A relative folder is relative to the project (like AUDITFLOW_DATA_DIR).
 */
export function parseStorageUrl(
  value: string,
):
  | { kind: 'file'; root: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string; pathStyle: boolean }
  | { problem: string } {
  if (value.startsWith('file://')) {
    const folder = value.slice('file://'.length);
    if (!folder) return { problem: 'must name a folder, e.g. file:///srv/auditflow' };
    return { kind: 'file', root: path.resolve(PROJECT_ROOT, decodeURIComponent(folder)) };
  }
  if (!value.startsWith('s3://'))
    return {
      problem:
        'must be file://<folder> or s3://<bucket>/<prefix> (e.g. s3://acme-audit-records/auditflow?region=eu-west-1)',
    };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: 'is not a valid URL; write it as s3://<bucket>/<prefix>?region=<region>' };
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
    return {
      problem: `bucket "${bucket}" is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and dashes)`,
    };
  if (url.username || url.password)
    return {
      problem:
        'must not contain credentials; give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role',
    };
  const unknown = [...url.searchParams.keys()].filter((k) => !S3_OPTIONS.includes(k));
  if (unknown.length)
    return { problem: `unknown option ${unknown.join(', ')}; the options are ${S3_OPTIONS.join(', ')}` };
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    try {
      if (!['http:', 'https:'].includes(new URL(endpoint).protocol)) throw new Error();
    } catch {
      return { problem: `endpoint=${endpoint} must be an http(s) URL such as https://s3.eu-west-1.amazonaws.com` };
    }
  }
  const pathStyle = url.searchParams.get('pathStyle') ?? 'false';
  if (!['true', 'false'].includes(pathStyle)) return { problem: `pathStyle=${pathStyle} must be true or false` };
  const region = url.searchParams.get('region') ?? undefined;
  if (region !== undefined && !/^[a-z0-9-]{2,40}$/.test(region))
    return { problem: `region=${region} must be a region name such as eu-west-1` };
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/*$/, '');
  // Checked on the text as written: URL parsing would quietly resolve the segments away.
  const written = value.slice('s3://'.length).split(/[?#]/)[0]!.split('/').slice(1);
  if (written.some((part) => part === '.' || part === '..' || /^%2e%2e?$|^\.%2e$|^%2e\.$/i.test(part)))
    return { problem: 'the prefix must not contain . or .. segments' };
  return {
    kind: 's3',
    bucket,
    prefix: prefix ? `${prefix}/` : '',
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    pathStyle: pathStyle === 'true',
  };
}

/** Settings resolved from the environment, with defaults filled in. */
export interface AuditflowConfig {
  dataDir: string;
  taskQueue: string;
  /** Where outgoing mail goes: SMTP_URL, or the local catcher. */
  smtpUrl: string;
  /** True when SMTP_URL was given (no catcher is started). */
  smtpExplicit: boolean;
  catcherPort: number;
  uiPort: number;
  /** The codec server (`auditflow codec-server`, started by npm start) for the Web UI and the temporal CLI. */
  codec: { host: string; port: number; token?: string };
  /** Base URL of the Web UI for links (AUDITFLOW_UI_URL, else the local dev server's). */
  uiUrl: string;
  temporalPort: number;
  gatewayPort: number;
  replyDomain: string;
  replyLocalPart: string;
  logLevel: EnvSettings['AUDITFLOW_LOG_LEVEL'];
  /** How many demand workflows a worker keeps in memory; the others are replayed from history when they wake. */
  workflowCache: number;
  /** Where the secret comes from; the value itself is read with loadSecret(). */
  secretSource: 'env' | 'file';
  /** AUDITFLOW_SECRET as given (never printed); otherwise loadSecret() uses <data>/secret. */
  secret?: string;
  /** Payload encryption: AUDITFLOW_ENCRYPTION_KEYS as given, or off (AUDITFLOW_ENCRYPTION=off). */
  encryption: { on: boolean; keys?: EncryptionKey[] };
  /** AUDITFLOW_SECRET_PREVIOUS: earlier secrets, still accepted when verifying reply tokens and Message-IDs. */
  previousSecrets: string[];
  /** Where evidence, the send ledger, reports and the triage log live. */
  storage: StorageSettings;
  gateway: {
    host: string;
    port: number;
    maxBytes: number;
    tls?: { key: string; cert: string };
    hostname: string;
    authMode: 'enforce' | 'report';
    trustedArcSealers: string[];
    /** Connections one client address may hold; a connection idle this long is closed. */
    connectionsPerClient: number;
    idleTimeoutMs: number;
    /** Messages parsed at once, and how long one may take before it is deferred (451). */
    parsers: number;
    parseTimeoutMs: number;
    /** `recorded`: 250 once the demand (or triage) has the message; `spooled`: once the spool has it. */
    accept: 'recorded' | 'spooled';
    /** Spooled: a message no gateway reported recorded this long after its 250 is claimed by a sweep. */
    spoolGraceMs: number;
  };
  imap?: { url: string; folder: string; processed: string; quarantine: string; pollSeconds: number };
  /** Prometheus endpoints (absent when off), and how often the worker counts demands for its gauges. */
  metrics: { worker?: ListenAddress; gateway?: ListenAddress; pollSeconds: number };
  /** OTLP trace export (absent when OTEL_EXPORTER_OTLP_ENDPOINT is not set); the service name overrides each process's own. */
  tracing?: TracingSettings;
  outboxDir: string;
}

/** Where spans go, and under which service name when not the process's own. */
export interface TracingSettings {
  endpoint: string;
  serviceName?: string;
}

/** Where a server listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** A bad environment setting: the message names every variable at fault. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid environment settings:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix these variables (see README, ` +
        `"Environment variables") and start again.`,
    );
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AuditflowConfig {
  const picked = Object.fromEntries(
    Object.keys(EnvSchema.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  );
  const parsed = EnvSchema.safeParse(picked);
  if (
    parsed.success &&
    Boolean(parsed.data.AUDITFLOW_GATEWAY_TLS_KEY) !== Boolean(parsed.data.AUDITFLOW_GATEWAY_TLS_CERT)
  ) {
    throw new ConfigError([
      'AUDITFLOW_GATEWAY_TLS_KEY and AUDITFLOW_GATEWAY_TLS_CERT: set both (PEM file paths) or neither',
    ]);
  }
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(picked[String(i.path[0])])}: ${i.message}`),
    );
  }
  const s = parsed.data;
  const dataDir = path.resolve(PROJECT_ROOT, s.AUDITFLOW_DATA_DIR ?? '.data');
  return {
    dataDir,
    taskQueue: s.AUDITFLOW_TASK_QUEUE,
    smtpUrl: s.SMTP_URL ?? `smtp://127.0.0.1:${s.AUDITFLOW_SMTP_PORT}`,
    smtpExplicit: s.SMTP_URL !== undefined,
    catcherPort: s.AUDITFLOW_SMTP_PORT,
    uiPort: s.AUDITFLOW_UI_PORT,
    codec: {
      host: s.AUDITFLOW_CODEC_HOST,
      port: s.AUDITFLOW_CODEC_PORT,
      ...(s.AUDITFLOW_CODEC_TOKEN ? { token: s.AUDITFLOW_CODEC_TOKEN } : {}),
    },
    uiUrl: (s.AUDITFLOW_UI_URL ?? `http://localhost:${s.AUDITFLOW_UI_PORT}`).replace(/\/+$/, ''),
    temporalPort: s.AUDITFLOW_TEMPORAL_PORT,
    gatewayPort: s.AUDITFLOW_GATEWAY_PORT,
    replyDomain: s.AUDITFLOW_REPLY_DOMAIN,
    replyLocalPart: s.AUDITFLOW_REPLY_LOCAL_PART,
    logLevel: s.AUDITFLOW_LOG_LEVEL,
    workflowCache: s.AUDITFLOW_WORKFLOW_CACHE,
    secretSource: s.AUDITFLOW_SECRET ? 'env' : 'file',
    ...(s.AUDITFLOW_SECRET ? { secret: s.AUDITFLOW_SECRET } : {}),
    previousSecrets: s.AUDITFLOW_SECRET_PREVIOUS ?? [],
    encryption: {
      on: s.AUDITFLOW_ENCRYPTION === 'on',
      ...(s.AUDITFLOW_ENCRYPTION_KEYS ? { keys: parseEncryptionKeys(s.AUDITFLOW_ENCRYPTION_KEYS) } : {}),
    },
    storage: storageSettings(s, dataDir, env),
    gateway: {
      host: s.AUDITFLOW_GATEWAY_HOST,
      port: s.AUDITFLOW_GATEWAY_PORT,
      maxBytes: s.AUDITFLOW_GATEWAY_MAX_BYTES,
      ...(s.AUDITFLOW_GATEWAY_TLS_KEY && s.AUDITFLOW_GATEWAY_TLS_CERT
        ? { tls: { key: s.AUDITFLOW_GATEWAY_TLS_KEY, cert: s.AUDITFLOW_GATEWAY_TLS_CERT } }
        : {}),
      hostname: s.AUDITFLOW_GATEWAY_HOSTNAME ?? os.hostname(),
      authMode: s.AUDITFLOW_INBOUND_AUTH,
      trustedArcSealers: s.AUDITFLOW_TRUSTED_ARC_SEALERS ?? [],
      connectionsPerClient: s.AUDITFLOW_GATEWAY_CONNECTIONS_PER_CLIENT,
      idleTimeoutMs: s.AUDITFLOW_GATEWAY_IDLE_SECONDS * 1000,
      parsers: s.AUDITFLOW_GATEWAY_PARSERS,
      parseTimeoutMs: Math.round(s.AUDITFLOW_GATEWAY_PARSE_SECONDS * 1000),
      accept: s.AUDITFLOW_GATEWAY_ACCEPT,
      spoolGraceMs: s.AUDITFLOW_GATEWAY_SPOOL_GRACE_SECONDS * 1000,
    },
    ...(s.AUDITFLOW_IMAP_URL
      ? {
          imap: {
            url: s.AUDITFLOW_IMAP_URL,
            folder: s.AUDITFLOW_IMAP_FOLDER,
            processed: s.AUDITFLOW_IMAP_PROCESSED,
            quarantine: s.AUDITFLOW_IMAP_QUARANTINE,
            pollSeconds: s.AUDITFLOW_IMAP_POLL_SECONDS,
          },
        }
      : {}),
    metrics: {
      ...(s.AUDITFLOW_WORKER_METRICS ? { worker: s.AUDITFLOW_WORKER_METRICS } : {}),
      ...(s.AUDITFLOW_GATEWAY_METRICS ? { gateway: s.AUDITFLOW_GATEWAY_METRICS } : {}),
      pollSeconds: s.AUDITFLOW_METRICS_POLL_SECONDS,
    },
    ...(s.OTEL_EXPORTER_OTLP_ENDPOINT
      ? {
          tracing: {
            endpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, ''),
            ...(s.OTEL_SERVICE_NAME ? { serviceName: s.OTEL_SERVICE_NAME } : {}),
          },
        }
      : {}),
    outboxDir: path.join(dataDir, 'mail', 'outbox'),
  };
}

function storageSettings(s: EnvSettings, dataDir: string, env: NodeJS.ProcessEnv): StorageSettings {
  const parsed = parseStorageUrl(s.AUDITFLOW_STORAGE_URL ?? `file://${dataDir}`);
  if ('problem' in parsed) throw new ConfigError([`AUDITFLOW_STORAGE_URL: ${parsed.problem}`]);
  if (parsed.kind === 'file') return parsed;
  return {
    ...parsed,
    // The SDK's own region settings apply when the URL names none; S3-compatible stores accept any.
    region: parsed.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    lockMode: s.AUDITFLOW_STORAGE_LOCK_MODE,
    lockDays: s.AUDITFLOW_STORAGE_LOCK_DAYS,
  };
}

/** What to do about an unusable secret file; deleting it is the tempting fix that breaks every demand in flight. */
const SECRET_FIX =
  'Restore it from a backup, or set AUDITFLOW_SECRET to the secret it held (at least 32 characters). ' +
  'Deleting it makes auditflow generate a new one, and every reply address and Message-ID issued so far becomes unverifiable ' +
  '(replies to mail already sent are refused): do that only if no demand has sent mail yet.';

/** The secret file exists but cannot serve as an HMAC key: the message names the file, what is wrong and what to do. */
export class SecretError extends Error {
  constructor(
    readonly file: string,
    /** What is wrong, after the file name: "is empty". */
    readonly problem: string,
    readonly fix: string = SECRET_FIX,
  ) {
    super(`${file} ${problem}. ${fix}`);
    this.name = 'SecretError';
  }
}

function readSecretFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretError(file, `cannot be read (${(err as Error).message})`);
  }
}

/** Creates the file with a fresh secret, complete before it appears, or returns what another process put there first. */
function createSecretFile(
  config: AuditflowConfig,
  file: string,
  fresh = crypto.randomBytes(32).toString('hex'),
  fix = 'Make the data folder writable, or set AUDITFLOW_SECRET (at least 32 characters; try: openssl rand -hex 32).',
): string {
  const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(temp, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    // link() never replaces an existing file, and a reader racing us never sees it empty (as it could with O_EXCL).
    fs.linkSync(temp, file);
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readSecretFile(file) ?? '';
    throw new SecretError(file, `cannot be created (${(err as Error).message})`, fix);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * The HMAC secret for reply tokens and Message-IDs: AUDITFLOW_SECRET, or (for a single machine) a
 * random one kept in <data>/secret, created on first use with mode 0600. A file that is empty, shorter
 * than 32 characters or unreadable throws SecretError: it must never become a weak or empty key.
 */
export function loadSecret(config: AuditflowConfig): string {
  if (config.secret) return config.secret;
  // A generated secret lives on one machine; the others would sign and verify with secrets of their own.
  if (config.storage.kind !== 'file')
    throw new SecretError(
      'AUDITFLOW_SECRET',
      'is not set, and it is required when AUDITFLOW_STORAGE_URL is not file:// (several machines must sign and verify reply addresses with one secret)',
      'Set the same AUDITFLOW_SECRET (at least 32 characters; try: openssl rand -hex 32) on every worker, ' +
        'gateway and CLI machine. Moving from one machine: use the value of <data>/secret there.',
    );
  const file = path.join(config.dataDir, 'secret');
  const secret = (readSecretFile(file) ?? createSecretFile(config, file)).trim();
  if (secret.length === 0) throw new SecretError(file, 'is empty');
  if (secret.length < 32) throw new SecretError(file, `holds ${secret.length} characters; a secret needs at least 32`);
  return secret;
}

/** Same as loadConfig, but prints the problem and exits with status 2 (for entry points). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): AuditflowConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * The payload encryption keys (the first encrypts, all decrypt), or undefined when encryption is off.
 * AUDITFLOW_ENCRYPTION_KEYS, or on one machine a key generated once into <data>/encryption-keys (like the
 * secret). With shared storage or a Temporal cluster of your own, every machine must hold the same keys:
 * a missing AUDITFLOW_ENCRYPTION_KEYS is then an error.
 */
export function loadEncryptionKeys(config: AuditflowConfig, opts: { remote: boolean }): EncryptionKey[] | undefined {
  if (!config.encryption.on) return undefined;
  if (config.encryption.keys) return config.encryption.keys;
  if (config.storage.kind !== 'file' || opts.remote)
    throw new SecretError(
      'AUDITFLOW_ENCRYPTION_KEYS',
      'is not set, and it is required when ' +
        (opts.remote
          ? 'Temporal is a cluster of your own (TEMPORAL_ADDRESS or a profile)'
          : 'AUDITFLOW_STORAGE_URL is not file://') +
        ': every worker, gateway and CLI must encrypt and decrypt with the same keys',
      'Set AUDITFLOW_ENCRYPTION_KEYS=k1:<64 hex digits> (try: echo k1:$(openssl rand -hex 32)) on every machine, ' +
        'or AUDITFLOW_ENCRYPTION=off to store payloads in clear.',
    );
  const file = path.join(config.dataDir, 'encryption-keys');
  const fix =
    'Restore it from a backup or set AUDITFLOW_ENCRYPTION_KEYS; without the key, the payloads it encrypted cannot be read.';
  const text = (
    readSecretFile(file) ?? createSecretFile(config, file, `k1:${crypto.randomBytes(32).toString('hex')}`, fix)
  ).trim();
  try {
    return parseEncryptionKeys(text);
  } catch (err) {
    throw new SecretError(file, `is not a key list (${(err as Error).message})`, fix);
  }
}

/** Every secret that verifies: the current one first (it alone signs), then AUDITFLOW_SECRET_PREVIOUS. */
export function loadSecrets(config: AuditflowConfig): string[] {
  return [loadSecret(config), ...config.previousSecrets];
}

/** Same as loadSecret, but prints the problem and exits with status 2 (for entry points, before they connect anywhere). */
export function loadSecretOrExit(config: AuditflowConfig): string {
  try {
    return loadSecret(config);
  } catch (err) {
    if (err instanceof SecretError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * Node flags for the worker process: a bounded V8 heap (AUDITFLOW_WORKER_HEAP_MB, default 640), so that
 * memory freed by evicting cached workflows is collected instead of growing RSS up to V8's default limit.
 */
export function workerNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const parsed = EnvSchema.shape.AUDITFLOW_WORKER_HEAP_MB.safeParse(env.AUDITFLOW_WORKER_HEAP_MB);
  return [`--max-old-space-size=${parsed.success ? parsed.data : 640}`];
}
