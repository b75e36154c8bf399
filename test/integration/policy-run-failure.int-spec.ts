import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { roundRobinMap } from '@eplb/domain';
import { DeploymentRepository, PolicyRunRepository } from '@eplb/persistence';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { PolicyQueue } from '../../apps/scheduler/src/policy-queue';
import { POLICY_RUN_JOB, PolicyRunJob } from '../../apps/scheduler/src/policy/policy-run.job';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';

/**
 * A policy run that failed for good is recorded as a failed run with its reason — even when the
 * database refuses the first attempt to record it (the scheduler app on real Redis and Postgres).
 */
describe('scheduler: a failed policy run is recorded, retried until it is', () => {
  const config = testConfig();
  let app: INestApplication;

  beforeAll(async () => {
    const logger = createLogger('scheduler', config.LOG_LEVEL);
    app = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
  });

  it('the record of the failure survives a database error on its first write', { timeout: 60_000 }, async () => {
    const ds = app.get(DataSource);
    const id = `run-failure-${randomUUID().slice(0, 8)}`;
    const shape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
    await new DeploymentRepository(ds).create(
      { id, ...shape, numGroups: null, episodeSteps: 4, intervalSteps: 16, latenessSteps: 0, initialMap: roundRobinMap(shape), settings: { cadenceSeconds: 0, policy: 'incremental' } },
      { actor: 'test', reason: 'policy run failure test', correlationId: id },
    );
    const job = app.get(PolicyRunJob);
    vi.spyOn(job, 'run').mockRejectedValue(new UnrecoverableError('the policy crashed'));
    const record = vi.spyOn(app.get(PolicyRunRepository), 'record').mockRejectedValueOnce(new Error('database is restarting'));
    await app.get(PolicyQueue).queue.add(POLICY_RUN_JOB, { deployment: id });
    const runs = await eventually(async () => {
      const rows = (await ds.query(`SELECT status, reason, policy FROM policy_runs WHERE deployment_id = $1`, [id])) as { status: string; reason: string; policy: string }[];
      return rows.length > 0 ? rows : null;
    }, 30_000, 200);
    // labelled with the policy the deployment runs, as its metric is
    expect(runs).toEqual([{ status: 'failed', reason: 'the policy crashed', policy: 'incremental' }]);
    expect(record).toHaveBeenCalledTimes(2);
  });
});
