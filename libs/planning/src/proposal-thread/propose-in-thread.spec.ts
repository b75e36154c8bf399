import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DomainError, propose, roundRobinMap } from '@eplb/domain';
import { proposeInThread, ProposalTimeLimitError } from './propose-in-thread';
import { proposalWorkerSource } from './worker-source';

const shape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
const settings = { policy: 'default', threshold: 0.02, minGain: 0.01, maxTransfers: null, expertBytes: 1_000_000 };
const loads = () => Array.from({ length: 4 }, (_, k) => Float64Array.from({ length: 16 }, (_, i) => ((i * 7 + k * 3) % 11) + (i % 8 === 0 ? 50 : 1)));

describe('proposeInThread', () => {
  it('answers what propose answers on this thread', async () => {
    const current = roundRobinMap(shape);
    const heat = loads().map((v) => [v.subarray(0, 8), v.subarray(8, 16)]);
    const expected = propose(shape, heat, current, settings);
    await expect(proposeInThread({ shape, loads: loads(), current, settings }, 60_000)).resolves.toEqual(expected);
  });

  it('rebuilds the domain error that refused the job', async () => {
    const err = await proposeInThread({ shape, loads: loads(), current: roundRobinMap(shape), settings: { ...settings, policy: 'no-such-policy' } }, 60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid');
  });

  it('stops the thread and refuses when the time limit passes first', async () => {
    await expect(proposeInThread({ shape, loads: loads(), current: roundRobinMap(shape), settings }, 1)).rejects.toBeInstanceOf(ProposalTimeLimitError);
  });
});

describe('proposalWorkerSource', () => {
  // A test runner's forked worker holds no TypeScript loader on its main thread: there, a thread
  // that loaded one natively took the whole process down when a second thread did the same.
  it('runs thread after thread in a process that holds no TypeScript loader', () => {
    const job = { shape, loads: loads(), current: roundRobinMap(shape), settings };
    const script = `
      const { Worker } = require('node:worker_threads');
      const { source, job } = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      const once = () => new Promise((resolve, reject) => {
        const w = new Worker(source, { eval: true, workerData: { ...job, loads: job.loads.map((v) => Float64Array.from(v)) } });
        w.once('message', resolve);
        w.once('error', reject);
      });
      (async () => { for (let i = 0; i < 4; i++) process.stdout.write(JSON.stringify((await once()).ok) + '\\n'); })();
    `;
    const run = spawnSync(process.execPath, ['-e', script], {
      // the source is far beyond what one environment variable or argument may hold
      input: JSON.stringify({ source: proposalWorkerSource(), job: { ...job, loads: job.loads.map((v) => Array.from(v)) } }),
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(run.stdout.trim().split('\n')).toEqual(['true', 'true', 'true', 'true']);
  });
});
