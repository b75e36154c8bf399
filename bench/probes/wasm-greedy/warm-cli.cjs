#!/usr/bin/env node
/**
 * `eplb plan --policy greedy` run N times in one process, from the build (dist's planMain, what
 * the CLI's `plan` verb runs): the same work warm, once V8 has optimised it. Prints each round's
 * milliseconds as one JSON line.
 *
 *   node warm-cli.cjs --input HEAT.json --output PLAN.json --warm N
 */
'use strict';
const { readFile, writeFile } = require('node:fs/promises');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..', '..');
const { planMain } = require(join(ROOT, 'dist', 'apps', 'eplb', 'src', 'commands', 'plan.command.js'));

const io = {
  readBytes: (p) => readFile(p),
  writeText: (p, t) => writeFile(p, t),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

async function main(argv) {
  const at = (name) => argv[argv.indexOf(`--${name}`) + 1];
  const rounds = Number(at('warm'));
  const ms = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const code = await planMain(['--policy', 'greedy', '--input', at('input'), '--output', at('output')], io);
    if (code !== 0) throw new Error(`eplb plan exited ${code}`);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
