import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EpisodeStream, roundRobinMap } from '@eplb/domain';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { POLICY_QUEUE } from '../../apps/scheduler/src/policy-queue';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';

/**
 * Two scheduler processes; one is killed with SIGKILL while it runs a policy job. Every
 * deployment still gets exactly one run for its sealed interval: none lost, none duplicated.
 */
describe('scheduler killed mid-run', () => {
  const root = join(__dirname, '..', '..');
  const config = testConfig();
  const shape = { numLayers: 4, numExperts: 16, numRanks: 8, slotsPerRank: 3, numNodes: 2 };
  const w = { ...shape, episodeSteps: 4, intervalSteps: 16, latenessSteps: 0 };
  const ids = Array.from({ length: 6 }, (_, i) => `sched-kill-${i}-${randomUUID().slice(0, 6)}`);
  const procs: ChildProcess[] = [];
  let ds: DataSource;
  let redis: Redis;
  let queue: Queue;

  const start = (port: number) => {
    const p = spawn(process.execPath, [join(root, 'dist/apps/scheduler/src/main.js')], {
      env: { ...process.env, DATABASE_URL: config.DATABASE_URL, SCHEDULER_PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-sched-kill');
    await ds.initialize();
    redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(POLICY_QUEUE, { connection: redis });
    const repo = new HeatWindowRepository(ds);
    // One sealed interval per deployment, stored as the collector would.
    for (const id of ids) {
      await new DeploymentRepository(ds).create(
        { id, ...shape, numGroups: null, episodeSteps: 4, intervalSteps: 16, latenessSteps: 0, initialMap: roundRobinMap(shape), settings: { cadenceSeconds: 1, mode: 'approve' } },
        { actor: 'test', reason: 'scheduler kill test', correlationId: id },
      );
      const stream = new EpisodeStream(w, 'decode');
      const t0 = Date.now() - 60_000;
      for (let step = 0; step < 20; step++) {
        for (let rank = 0; rank < shape.numRanks; rank++) {
          const load = Array.from({ length: shape.numLayers }, () => [rank === 0 ? 900 : 10, rank === 1 ? 700 : 10, 10]);
          stream.offer({ rank, step, steps: 1, mapVersion: 1, layerVersions: null, tsMs: t0 + step * 100, load }, (_v, l) => roundRobinMap(shape)[l]);
        }
      }
      const drained = stream.drain();
      await repo.ensurePartitions([t0]);
      await ds.transaction(async (em) => {
        await repo.insertEpisodes(em, id, drained.episodes);
        for (const interval of drained.intervals) await repo.sealInterval(em, id, 'decode', interval, w);
      });
    }
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await queue?.close();
    redis?.disconnect();
    await ds?.destroy();
  });

  it('loses no run and duplicates none', { timeout: 120_000 }, async () => {
    const victim = start(3921);
    start(3922);
    // Kill the first instance the moment it holds an active job.
    await eventually(async () => {
      const active = await queue.getActive();
      return active.some((j) => ids.includes((j.data as { deployment: string }).deployment));
    }, 60_000, 5);
    victim.kill('SIGKILL');
    const runs = async () =>
      (await ds.query(`SELECT deployment_id, run_key, status FROM policy_runs WHERE deployment_id = ANY($1)`, [ids])) as { deployment_id: string; run_key: string; status: string }[];
    await eventually(async () => new Set((await runs()).map((r) => r.deployment_id)).size === ids.length, 60_000, 500);
    // A few more cadences pass on the survivor: still one run per (deployment, interval, settings).
    await new Promise((r) => setTimeout(r, 3000));
    const all = await runs();
    expect(new Set(all.map((r) => r.deployment_id))).toEqual(new Set(ids));
    expect(all).toHaveLength(ids.length);
    expect(all.every((r) => r.status === 'proposed' || r.status === 'nothing')).toBe(true);
  });
});
