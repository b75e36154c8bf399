import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

/**
 * Makes `dir` refuse new files, for whoever runs the test: root ignores permission bits, so as
 * root the directory is made immutable (chattr +i); otherwise its write bits go. `writable` undoes it.
 */
export function readOnly(dir: string): void {
  if (process.getuid?.() === 0) execFileSync('chattr', ['+i', dir]);
  else chmodSync(dir, 0o555);
}

export function writable(dir: string): void {
  if (process.getuid?.() === 0) execFileSync('chattr', ['-i', dir]);
  else chmodSync(dir, 0o755);
}
