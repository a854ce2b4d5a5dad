/**
 * `auditflow codec-server`: serves /encode and /decode for the Temporal Web UI and the temporal CLI, so
 * they show auditflow's encrypted payloads in clear (`npm start` runs one already). Runs until stopped.
 */
import type { Command } from 'commander';
import { loadEncryptionKeys, SecretError } from '../../platform/config';
import { startCodecServer } from '../../platform/codec-server';
import { isRemoteTarget } from '../../platform/temporal-target';
import { loadSettings } from '../client';
import { CliError, Exit } from '../output';

interface CodecOptions {
  host?: string;
  port?: string;
  origin?: string[];
}

export function register(program: Command): void {
  program
    .command('codec-server')
    .description(
      "Serve /encode and /decode so that the Temporal Web UI and CLI show auditflow's encrypted payloads (npm start runs one)",
    )
    .option(
      '--host <address>',
      'address to listen on (default AUDITFLOW_CODEC_HOST, 127.0.0.1); beyond loopback AUDITFLOW_CODEC_TOKEN is required',
    )
    .option('--port <port>', 'port (default AUDITFLOW_CODEC_PORT, 8888)')
    .option('--origin <url...>', "the Web UI's origin(s) allowed to call it (default: AUDITFLOW_UI_URL's)")
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow codec-server --origin https://temporal.internal.example.com\n' +
        '  temporal workflow show --workflow-id audit:northwind-api-audit-2027 --codec-endpoint http://127.0.0.1:8888\n' +
        "  (on Temporal Cloud: set the namespace's codec server to its URL, reachable from your browser)\n",
    )
    .action(async (opts: CodecOptions) => {
      const { config, target } = loadSettings();
      if (!config.encryption.on)
        throw new CliError(
          'payload encryption is off (AUDITFLOW_ENCRYPTION=off): there is nothing to decode',
          Exit.invalid,
        );
      const port = opts.port === undefined ? config.codec.port : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port ${opts.port}: must be a port number`, Exit.invalid);
      let keys;
      try {
        keys = loadEncryptionKeys(config, { remote: isRemoteTarget(target) })!;
      } catch (err) {
        if (err instanceof SecretError) throw new CliError(err.message, Exit.invalid);
        throw err;
      }
      let server;
      try {
        server = await startCodecServer({
          keys,
          host: opts.host ?? config.codec.host,
          port,
          origins: opts.origin ?? [new URL(config.uiUrl).origin],
          ...(config.codec.token ? { token: config.codec.token } : {}),
          log: (l) => process.stderr.write(`${l}\n`),
        });
      } catch (err) {
        throw new CliError(`cannot start the codec server: ${(err as Error).message}`, Exit.invalid);
      }
      process.stdout.write(
        `codec server on ${server.url} (keys: ${keys.map((k) => k.id).join(', ')}); UI origins: ${(opts.origin ?? [new URL(config.uiUrl).origin]).join(', ')}\n` +
          `  temporal CLI: --codec-endpoint ${server.url}${config.codec.token ? ' --codec-auth "Bearer $AUDITFLOW_CODEC_TOKEN"' : ''}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
}
