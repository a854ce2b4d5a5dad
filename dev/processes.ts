/** Processes as Linux /proc shows them: for tests and helpers that must leave no process behind. */
import fs from 'node:fs';

/** State, parent and process group of a process, or undefined when it is gone. */
function procStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command: state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** True while a process exists and is not a zombie (ended, waiting to be reaped). */
export function isRunning(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

function runningWhere(match: (s: { ppid: number; pgrp: number }) => boolean): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const s = procStat(pid);
      return s !== undefined && match(s) && isRunning(pid);
    });
}

/** Running processes of a process group, e.g. a server's master and every child it forked. */
export function processGroupMembers(pgid: number): number[] {
  return runningWhere((s) => s.pgrp === pgid);
}

/** Every running process. */
export function runningProcesses(): number[] {
  return runningWhere(() => true);
}

/** Running direct children of a process. */
export function childProcesses(pid: number): number[] {
  return runningWhere((s) => s.ppid === pid);
}

/** The program a process runs (the target of /proc/<pid>/exe), or undefined when it is gone or hidden. */
export function processExecutable(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}
