import { expect } from 'vitest';
import { DataSource } from 'typeorm';
import type { DeploymentShape } from '@eplb/domain';
import { DeploymentRepository } from '@eplb/persistence';
import type { RunningApp } from './apps';
import { http, OPERATOR } from './http';

/**
 * Registers a deployment through the API on `initialMap` (the operator's call), then stores
 * `versions` as its map versions 1, 2, … the way approved proposals do.
 */
export async function registerDeployment(
  api: RunningApp,
  d: { id: string; shape: DeploymentShape; initialMap: number[][]; expertBytes: number; versions: { map: number[][]; reason: string }[] },
): Promise<void> {
  const { shape } = d;
  const r = await http('POST', `${api.url}/v1/deployments`, {
    token: OPERATOR,
    body: {
      id: d.id,
      shape: { layers: shape.numLayers, experts: shape.numExperts, ranks: shape.numRanks, slotsPerRank: shape.slotsPerRank, nodes: shape.numNodes },
      windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
      initialMap: d.initialMap,
      settings: { expertBytes: d.expertBytes },
    },
  });
  expect(r.status).toBe(201);
  const ds = api.app.get(DataSource);
  const repo = new DeploymentRepository(ds);
  for (const [i, v] of d.versions.entries()) {
    await ds.transaction((em) => repo.createMapVersion(em, d.id, i + 1, v.map, { actor: 'test', reason: v.reason, correlationId: d.id }, { source: 'test' }));
  }
}
