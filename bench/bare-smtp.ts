/**
 * The gateway's floor for the throughput scenario: the shared SMTP sink keeping nothing, which drains
 * each message and discards it. Its own process, like the gateway, so both are measured the same way.
 * Prints its port.
 */
import { startSmtpSink } from '../dev/support/smtp-sink';

void startSmtpSink({ keep: 'none', maxBytes: 25 * 1024 * 1024 }).then((sink) => {
  process.stdout.write(`listening ${sink.port}\n`);
  process.once('SIGTERM', () => void sink.close().then(() => process.exit(0)));
});
