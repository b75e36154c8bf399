import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The import rules of .dependency-cruiser.cjs, run as `npm run lint` runs them
 * (scripts/lint-boundaries.mjs), on probe files written into the tree for the duration of the test:
 * each wrong import must fail with its rule's name, and correct ones must pass.
 */
const ROOT = resolve(__dirname, '../..');
const TAG = `__boundary-probe-${process.pid}`;
const written: string[] = [];

function probe(dir: string, name: string, source: string): string {
  const path = `${dir}/${TAG}-${name}.ts`;
  writeFileSync(join(ROOT, path), source);
  written.push(path);
  return path;
}

function lintBoundaries(paths: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['scripts/lint-boundaries.mjs', ...paths], { cwd: ROOT }, (error, stdout, stderr) => {
      done({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** The `error <rule>: <from> → <to>` lines of the output, as [rule, from]. */
function violations(output: string): Array<[string, string]> {
  return [...output.matchAll(/error ([\w-]+): (\S+) →/g)].map((m) => [m[1], m[2]]);
}

afterAll(() => {
  for (const path of written) rmSync(join(ROOT, path), { force: true });
});

describe('import boundaries (.dependency-cruiser.cjs)', () => {
  it('fails each forbidden import with the rule it breaks, and passes correct ones', async () => {
    const wrong: Array<[rule: string, path: string]> = [
      ['domain-is-pure', probe('libs/domain/src', 'persistence', "export * from '@eplb/persistence';\n")],
      ['domain-is-pure', probe('libs/domain/src', 'node', "export { createHash } from 'node:crypto';\n")],
      ['domain-is-pure', probe('libs/domain/src', 'package', "export { z } from 'zod';\n")],
      ['lib-graph', probe('libs/contracts/src', 'messaging', "export * from '@eplb/messaging';\n")],
      ['no-lib-to-app', probe('libs/platform/src', 'app', "export * from '../../../apps/collector/src/start-collector';\n")],
      ['no-app-to-app', probe('apps/collector/src', 'app', "export * from '../../scheduler/src/policy-queue';\n")],
      ['lib-via-index', probe('apps/collector/src', 'deep', "export * from '../../../libs/domain/src/errors';\n")],
      ['lib-via-index', probe('apps/collector/src', 'relative-index', "export * from '../../../libs/domain/src/index';\n")],
      ['lib-via-index', probe('apps/collector/src', 'alias-deep', "export * from '@eplb/domain/src/errors';\n")],
      ['no-test-code-in-production', probe('libs/device/src', 'fast-check', "export { default as fc } from 'fast-check';\n")],
      ['console-via-api-client', probe('apps/console/src', 'value', "export { TOPICS } from '@eplb/contracts';\n")],
    ];
    const cycleA = probe('libs/domain/src', 'cycle-a', `export { b } from './${TAG}-cycle-b';\nexport const a = 1;\n`);
    const cycleB = probe('libs/domain/src', 'cycle-b', `export { a } from './${TAG}-cycle-a';\nexport const b = 2;\n`);
    const right = [
      probe('libs/domain/src', 'relative', "export { DomainError } from './errors';\n"),
      probe('libs/planning/src', 'allowed-lib', "export * from '@eplb/persistence';\n"),
      probe('apps/collector/src', 'lib-index', "export * from '@eplb/domain';\n"),
      probe('apps/console/src', 'client', "export { ApiClient } from '@eplb/api-client';\nexport type { WhoAmIResponse } from '@eplb/contracts';\n"),
    ];

    const [bad, good] = await Promise.all([lintBoundaries([...wrong.map(([, path]) => path), cycleA, cycleB]), lintBoundaries(right)]);

    expect(bad.code, bad.output).not.toBe(0);
    const found = violations(bad.output);
    for (const [rule, path] of wrong) expect(found, `${rule} for ${path}:\n${bad.output}`).toContainEqual([rule, path]);
    // a cycle is reported once, from whichever of its files the cruise met first
    expect(found.filter(([rule, from]) => rule === 'no-circular' && [cycleA, cycleB].includes(from)), bad.output).toHaveLength(1);
    expect(good.code, good.output).toBe(0);
    expect(violations(good.output)).toEqual([]);
  }, 60_000);
});
