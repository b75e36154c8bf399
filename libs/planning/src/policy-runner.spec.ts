import { describe, expect, it } from 'vitest';
import type { DeploymentRecord, DeploymentRepository, HeatWindowRepository, PolicySettings, StoredEpisode } from '@eplb/persistence';
import { PolicyRunner } from './policy-runner';

const settings = { policy: 'default', threshold: 0.02, minGain: 0.01, maxTransfers: null, expertBytes: 0 } as unknown as PolicySettings;
const d = { id: 'd', numLayers: 1, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 1, settings } as unknown as DeploymentRecord;
const map = [[4, 0, 1, 5, 1, 2, 6, 2, 3, 7, 3, 0]];
const deployments = { mapVersion: async () => map } as unknown as DeploymentRepository;
const episodes = Array.from({ length: 4 }, (_, k) => ({ episode: k, logicalLoad: Float64Array.from([100, 100, 100, 100, 100, 100, 100, 100]) })) as unknown as StoredEpisode[];

describe('PolicyRunner', () => {
  it('plans around lost ranks: with rank 0 excluded every expert keeps a replica on a live rank', async () => {
    const runner = new PolicyRunner(deployments, {} as HeatWindowRepository);
    const out = await runner.run(d, episodes, 1, settings, [0]);
    const row = out.proposal.candidate[0];
    expect(new Set(row.slice(3)).size).toBe(8);
    expect(row.slice(0, 3)).toEqual(map[0].slice(0, 3));
    expect(out.proposal.chosenLayers).toEqual([0]);
  });

  it('without lost ranks leaves a balanced map alone', async () => {
    const runner = new PolicyRunner(deployments, {} as HeatWindowRepository);
    const out = await runner.run(d, episodes, 1, settings);
    expect(out.proposal.status).toBe('nothing');
  });
});
