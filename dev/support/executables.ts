/** Whether a path is a program this process may run, for the tools that look for Temporal, dovecot or Chromium. */
import fs from 'node:fs';

/** True when `file` is a regular file this process may execute. */
export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
