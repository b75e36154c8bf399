#!/usr/bin/env node
/**
 * `eplb` — the operator and analyst CLI. Each verb lives in its own module under commands/ and
 * returns an exit code; this file only dispatches, so a failure is always one line on stderr.
 */
import { runCommand } from './cli';

runCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`eplb: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
