import { describe, expect, it } from 'vitest';
import type { DeploymentRolloutsReader, HeatWindowRepository } from '@eplb/persistence';
import { PolicyRunner, ProposalTimeLimitError } from '@eplb/planning';
import { AppConfig, ProblemError } from '@eplb/platform';
import type { HeatRange } from '../heat/heat-range';
import { MAX_CONCURRENT_WHAT_IFS, WhatIfUseCase } from './what-if.use-case';

const range = { deployment: { id: 'd', numLayers: 1, latestMapVersion: 1, settings: {} }, phase: 'decode', fromMs: 0, toMs: 1 } as unknown as HeatRange;
const windows = { episodes: async () => [{ episode: 0 }] } as unknown as HeatWindowRepository;
const rollouts = { load: async () => ({ view: { inService: () => 1 } }) } as unknown as DeploymentRolloutsReader;
const proposal = { policy: 'p', status: 'nothing', reason: '', layers: [], chosenLayers: [], transfers: 0, bytes: 0, currentMean: 1, candidateMean: 1 };

function useCase(runInThread: () => Promise<unknown>) {
  const runner = { runInThread } as unknown as PolicyRunner;
  return new WhatIfUseCase(windows, runner, rollouts, { WHAT_IF_TIME_LIMIT_MS: 50 } as AppConfig);
}
const problemOf = (err: unknown) => (err instanceof ProblemError ? err.problem : err);

describe('WhatIfUseCase', () => {
  it(`refuses a what-if with 429 while ${MAX_CONCURRENT_WHAT_IFS} run, and takes one again once one answered`, async () => {
    const pending: (() => void)[] = [];
    const whatIfs = useCase(() => new Promise((resolve) => pending.push(() => resolve({ proposal, episodes: { from: 0, to: 0, count: 1 }, runMs: 1 }))));
    const running = Array.from({ length: MAX_CONCURRENT_WHAT_IFS }, () => whatIfs.execute(range, undefined, {}));
    await expect.poll(() => pending.length).toBe(MAX_CONCURRENT_WHAT_IFS);
    expect(problemOf(await whatIfs.execute(range, undefined, {}).catch((e: unknown) => e))).toMatchObject({ status: 429 });
    pending.shift()!();
    await running[0];
    const again = whatIfs.execute(range, undefined, {});
    await expect.poll(() => pending.length).toBe(MAX_CONCURRENT_WHAT_IFS);
    for (const done of pending) done();
    await expect(Promise.all([again, ...running.slice(1)])).resolves.toHaveLength(MAX_CONCURRENT_WHAT_IFS);
  });

  it('turns a policy past its time limit into a 422 problem naming the limit', async () => {
    const err = await useCase(() => Promise.reject(new ProposalTimeLimitError(50)))
      .execute(range, undefined, {})
      .catch((e: unknown) => e);
    expect(problemOf(err)).toMatchObject({ status: 422, title: 'What-if over its time limit', detail: 'the policy did not finish within 50 ms on this range; ask for a shorter range (fewer episodes)' });
  });
});
