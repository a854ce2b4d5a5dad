/** One readable log stream for the local stack: every line prefixed by its component. */
import readline from 'node:readline';
import type { Readable } from 'node:stream';

const COLORS: Record<string, number> = { auditflow: 1, temporal: 36, worker: 32, mail: 35, gateway: 33 };
const WIDTH = 9;

export type Logger = (line: string) => void;

/** A logger for one component: `worker    | message`. Colours only on a terminal. */
export function componentLogger(component: string, out: NodeJS.WriteStream = process.stdout): Logger {
  const name = component.padEnd(WIDTH);
  const color = out.isTTY && !process.env.NO_COLOR ? COLORS[component] : undefined;
  const prefix = color ? `\u001b[${color}m${name}|\u001b[0m ` : `${name}| `;
  return (line: string) => {
    out.write(`${prefix}${line}\n`);
  };
}

/** Forwards each line of a child's stream to a logger (optionally filtered). */
export function pipeLines(stream: Readable | null, log: Logger, keep: (line: string) => boolean = () => true): void {
  if (!stream) return;
  readline.createInterface({ input: stream }).on('line', (line) => {
    if (line.trim() && keep(line)) log(line);
  });
}
