/**
 * auditflow's own settings, read from the environment and validated with zod at start-up. A bad value
 * stops the process with a message that names the variable and says what to do.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from './paths';

export const DEFAULT_TASK_QUEUE = 'audit-demands';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

const smtpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      return ['smtp:', 'smtps:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be a URL like smtp://user:pass@mail.example.com:587 or smtps://mail.example.com:465');

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
  AUDITFLOW_TEMPORAL_PORT: port(7233),
  AUDITFLOW_GATEWAY_PORT: port(2525),
  AUDITFLOW_SECRET: z.string().min(32, 'must be at least 32 characters (try: openssl rand -hex 32)').optional(),
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
  AUDITFLOW_IMAP_URL: z
    .string()
    .trim()
    .refine((v) => {
      try {
        return ['imap:', 'imaps:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'must be a URL like imaps://user:password@imap.example.com:993')
    .optional(),
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
});

export type EnvSettings = z.infer<typeof EnvSchema>;

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
  };
  imap?: { url: string; folder: string; processed: string; quarantine: string; pollSeconds: number };
  outboxDir: string;
  evidenceDir: string;
  reportsDir: string;
}

/** A bad environment setting: the message names every variable at fault. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid environment settings:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix these variables (see README, "Environment variables") and start again.`,
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
    uiUrl: (s.AUDITFLOW_UI_URL ?? `http://localhost:${s.AUDITFLOW_UI_PORT}`).replace(/\/+$/, ''),
    temporalPort: s.AUDITFLOW_TEMPORAL_PORT,
    gatewayPort: s.AUDITFLOW_GATEWAY_PORT,
    replyDomain: s.AUDITFLOW_REPLY_DOMAIN,
    replyLocalPart: s.AUDITFLOW_REPLY_LOCAL_PART,
    logLevel: s.AUDITFLOW_LOG_LEVEL,
    workflowCache: s.AUDITFLOW_WORKFLOW_CACHE,
    secretSource: s.AUDITFLOW_SECRET ? 'env' : 'file',
    ...(s.AUDITFLOW_SECRET ? { secret: s.AUDITFLOW_SECRET } : {}),
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
    outboxDir: path.join(dataDir, 'mail', 'outbox'),
    evidenceDir: path.join(dataDir, 'evidence'),
    reportsDir: path.join(dataDir, 'reports'),
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
function createSecretFile(config: AuditflowConfig, file: string): string {
  const fresh = crypto.randomBytes(32).toString('hex');
  const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(temp, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    // link() never replaces an existing file, and a reader racing us never sees it empty (as it could with O_EXCL).
    fs.linkSync(temp, file);
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readSecretFile(file) ?? '';
    throw new SecretError(
      file,
      `cannot be created (${(err as Error).message})`,
      'Make the data folder writable, or set AUDITFLOW_SECRET (at least 32 characters; try: openssl rand -hex 32).',
    );
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
