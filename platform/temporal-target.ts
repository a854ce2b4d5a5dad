/**
 * Which Temporal server to talk to: TEMPORAL_* environment variables and the TOML profile, read
 * through @temporalio/envconfig, or the embedded dev server's address when nothing names one.
 */
import fs from 'node:fs';
import type { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** True when TEMPORAL_ADDRESS or a profile names a server (then `npm start` starts no dev server). */
  explicit: boolean;
  connectionOptions: NativeConnectionOptions;
  /** For logs: address, namespace, and whether TLS / an API key are in use (never the key itself). */
  description: string;
}

/**
 * True when the server is on another machine: named explicitly, and not on a loopback address. Processes
 * on this machine share the data folder (and its generated keys); those on a cluster's other machines do not.
 */
export function isRemoteTarget(target: Pick<TemporalTarget, 'address' | 'explicit'>): boolean {
  if (!target.explicit) return false;
  const host = target.address
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}

/** Loads the target; throws an Error naming the variable when the Temporal settings are unusable. */
export function loadTemporalTarget(
  env: NodeJS.ProcessEnv = process.env,
  fallbackAddress = 'localhost:7233',
): TemporalTarget {
  const configFile = env.TEMPORAL_CONFIG_FILE;
  if (configFile && !fs.existsSync(configFile)) {
    throw new Error(`TEMPORAL_CONFIG_FILE=${configFile}: no such file. Fix the path or unset TEMPORAL_CONFIG_FILE.`);
  }
  let loaded;
  try {
    const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
    loaded = loadClientConnectConfig({ overrideEnvVars: vars });
  } catch (err) {
    throw new Error(
      `Could not read the Temporal connection settings (TEMPORAL_PROFILE=${env.TEMPORAL_PROFILE ?? 'default'}, ` +
        `TEMPORAL_CONFIG_FILE=${configFile ?? 'default location'}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const opts = loaded.connectionOptions;
  const explicit = typeof opts.address === 'string' && opts.address.length > 0;
  const address = explicit ? (opts.address as string) : fallbackAddress;
  const namespace = loaded.namespace ?? 'default';
  const extras = [opts.tls ? 'TLS' : undefined, opts.apiKey ? 'API key' : undefined].filter(Boolean).join(', ');
  return {
    address,
    namespace,
    explicit,
    connectionOptions: { ...opts, address },
    description: `${address} namespace ${namespace}${extras ? ` (${extras})` : ''}`,
  };
}

/** A client-side connection (CLI, gateway) to the target. */
export async function connectClient(target: TemporalTarget, connectTimeoutMs = 5000): Promise<Connection> {
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  // Loaded here, not with this module: `auditflow show` and `list` read through platform/temporal-read.ts.
  const { Connection } = await import('@temporalio/client');
  return Connection.connect({ address, tls, apiKey, metadata, connectTimeout: connectTimeoutMs });
}
