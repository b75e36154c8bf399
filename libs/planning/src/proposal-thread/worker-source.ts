import { extname, join } from 'node:path';

/**
 * The code a proposal thread runs, as `new Worker(source, { eval: true })` takes it.
 *
 * Built (dist/, production): the compiled worker next to this file.
 *
 * From TypeScript sources (the test runner, `node -r @swc-node/register`): the worker bundled
 * once per process by esbuild into plain JavaScript. The thread must not load a TypeScript
 * loader of its own: @swc/core's native binding, loaded afresh by a second thread after the
 * first one exited, brings the whole process down with a segfault whenever the main thread does
 * not itself hold the binding (a test runner's forked worker, for one).
 */
const WORKER_FILE = join(__dirname, `proposal.worker${extname(__filename)}`);

let bundled: string | undefined;

export function proposalWorkerSource(): string {
  if (extname(__filename) !== '.ts') return `require(${JSON.stringify(WORKER_FILE)});`;
  bundled ??= bundleFromSource();
  return bundled;
}

function bundleFromSource(): string {
  // Only reached from sources, where dev dependencies are installed; never from dist/.
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = esbuild.buildSync({
    entryPoints: [WORKER_FILE],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}
