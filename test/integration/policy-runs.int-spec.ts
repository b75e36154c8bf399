import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@eplb/contracts';
import { ClusterSimulator, RouterModel, roundRobinMap } from '@eplb/domain';
import { KafkajsBus, MessageProducer } from '@eplb/messaging';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { heatEvent } from '../support/heat';

/**
 * Policies on a schedule, on the real stack: simulated heat → Kafka → collector → sealed
 * intervals → the scheduler's BullMQ job → a proposal (or a reasoned "nothing worth deploying")
 * → operator approval → a new map version; heat measured under the new map matches the projection.
 */
describe('policy runs on a schedule', () => {
  const config = testConfig();
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-policy-runs' });
  const shape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
  const P = shape.numRanks * shape.slotsPerRank;
  let api: RunningApp;
  let collector: RunningApp;
  let scheduler: INestApplication;
  let producer: MessageProducer;

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    const logger = createLogger('scheduler', config.LOG_LEVEL);
    scheduler = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: '127.0.0.1', port: 0 });
    producer = await bus.producer();
  });
  afterAll(async () => {
    await producer?.close();
    await bus.close();
    await Promise.all([api?.close(), collector?.close(), scheduler?.close()]);
  });

  const register = async (id: string, initialMap: number[][], mode: string) => {
    const r = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: shape.numLayers, experts: shape.numExperts, ranks: shape.numRanks, slotsPerRank: shape.slotsPerRank, nodes: shape.numNodes },
        windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
        initialMap,
        settings: { cadenceSeconds: 1, mode, threshold: 0.02, minGain: 0.01, expertBytes: 1_000_000 },
      },
    });
    expect(r.status).toBe(201);
  };

  /** Publishes steps [from, to) of the simulated cluster, every layer on `version`. */
  const publish = async (id: string, sim: ClusterSimulator, from: number, to: number, version: number) => {
    for (let step = from; step < to; step++) {
      const { slots } = sim.next();
      const messages = [];
      for (let r = 0; r < shape.numRanks; r++) {
        const load = Array.from({ length: shape.numLayers }, (_, l) => Array.from(slots.subarray(l * P + r * shape.slotsPerRank, l * P + (r + 1) * shape.slotsPerRank)));
        messages.push({ key: id, value: JSON.stringify(heatEvent(id, r, step, load, { mapVersion: version })) });
      }
      await producer.send(TOPICS.heat, messages);
    }
  };

  const runs = async (id: string) => (await http('GET', `${api.url}/v1/deployments/${id}/runs`, { token: OPERATOR })).body.items as { id: string; status: string; reason: string; interval: number; figures: { candidateMean: number; currentMean: number; chosenLayers: number[]; episodes: { from: number; to: number; count: number } } }[];

  it('proposes for skewed alternating heat; the approved map measures as projected', async () => {
    const id = `policy-skew-${randomUUID().slice(0, 8)}`;
    const map = roundRobinMap(shape);
    await register(id, map, 'approve');
    const model = new RouterModel({ numLayers: 2, numExperts: 8, tokensPerStep: 4096, topK: 2, seed: 3, scenarios: ['alternating'], zipfExponent: 1.2, phaseSteps: 4, noise: 0.02 });
    const sim = new ClusterSimulator(shape, model, map.map((row) => ({ version: 1, physicalToLogical: row })));
    await publish(id, sim, 0, 40, 1); // intervals 0 (steps 0–15) sealed once the watermark passes 20

    const proposal = await eventually(async () => (await runs(id)).find((r) => r.status === 'proposed'), 45_000, 500);
    // planned from an interval the heat above sealed — 0 (steps 0–15) or 1 (16–31); 2 (32–47) is
    // still open at step 39 — and from exactly its episodes (episodeSteps 4: four per interval)
    expect([0, 1]).toContain(proposal.interval);
    expect(proposal.figures.episodes).toEqual({ from: proposal.interval * 4, to: proposal.interval * 4 + 3, count: 4 });
    expect(proposal.figures.candidateMean).toBeLessThan(proposal.figures.currentMean - 0.05);

    const full = (await http('GET', `${api.url}/v1/deployments/${id}/runs/${proposal.id}`, { token: OPERATOR })).body as { candidate: number[][] };
    const approved = await http('POST', `${api.url}/v1/deployments/${id}/runs/${proposal.id}/approve`, { token: OPERATOR, body: { reason: 'integration test' } });
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ mapVersion: 2 });
    const again = await http('POST', `${api.url}/v1/deployments/${id}/runs/${proposal.id}/approve`, { token: OPERATOR, body: { reason: 'twice' } });
    expect(again.status).toBe(409);

    // The new map in force (what a rollout would do): heat is now routed as version 2 says.
    full.candidate.forEach((row, l) => sim.setLayerMap(l, { version: 2, physicalToLogical: row }));
    await publish(id, sim, 40, 80, 2);
    const measured = await eventually(async () => {
      const items = (await http('GET', `${api.url}/v1/deployments/${id}/heat/episodes?limit=50`, { token: OPERATOR })).body.items as { layerVersions: number[]; imbalance: number[] }[];
      const onV2 = items.filter((e) => e.layerVersions.every((v) => v === 2));
      return onV2.length >= 8 ? onV2 : null;
    }, 30_000);
    const before = (await http('GET', `${api.url}/v1/deployments/${id}/heat/episodes?limit=50`, { token: OPERATOR })).body.items.filter((e: { layerVersions: number[] }) => e.layerVersions.every((v) => v === 1)) as { imbalance: number[] }[];
    const mean = (eps: { imbalance: number[] }[]) => eps.reduce((a, e) => a + e.imbalance.reduce((x, y) => x + y, 0) / e.imbalance.length, 0) / eps.length;
    // Measured under the new map: close to the projection, and clearly better than under the old one.
    expect(Math.abs(mean(measured) - proposal.figures.candidateMean)).toBeLessThan(0.1);
    expect(mean(measured)).toBeLessThan(mean(before) - 0.05);
    expect(Math.abs(mean(before) - proposal.figures.currentMean)).toBeLessThan(0.1);
  });

  it('decides "nothing worth deploying" for flat heat on a balanced map', async () => {
    const id = `policy-flat-${randomUUID().slice(0, 8)}`;
    // every rank: one single expert and halves of two doubled ones — balanced for flat heat
    const map = [0, 1].map(() => [4, 0, 1, 5, 1, 2, 6, 2, 3, 7, 3, 0]);
    await register(id, map, 'auto');
    const model = new RouterModel({ numLayers: 2, numExperts: 8, tokensPerStep: 4096, topK: 2, seed: 4, scenarios: ['stationary'], zipfExponent: 0, noise: 0.01 });
    const sim = new ClusterSimulator(shape, model, map.map((row) => ({ version: 1, physicalToLogical: row })));
    await publish(id, sim, 0, 40, 1);
    const decision = await eventually(async () => (await runs(id)).find((r) => r.status === 'nothing'), 45_000, 500);
    expect(decision.reason).toMatch(/no layer's projected gain/);
    expect((await runs(id)).some((r) => r.status === 'proposed')).toBe(false);
    expect((await http('GET', `${api.url}/v1/deployments/${id}`, { token: OPERATOR })).body.mapVersion).toBe(1);
  });

  it('answers a what-if with the same figures, recording nothing', async () => {
    const id = `policy-whatif-${randomUUID().slice(0, 8)}`;
    const map = roundRobinMap(shape);
    await register(id, map, 'observe');
    const model = new RouterModel({ numLayers: 2, numExperts: 8, tokensPerStep: 4096, topK: 2, seed: 5, scenarios: ['alternating'], zipfExponent: 1.2, phaseSteps: 4 });
    const sim = new ClusterSimulator(shape, model, map.map((row) => ({ version: 1, physicalToLogical: row })));
    await publish(id, sim, 0, 24, 1);
    await eventually(async () => ((await http('GET', `${api.url}/v1/deployments/${id}/heat/episodes`, { token: OPERATOR })).body.items?.length ?? 0) >= 4);
    const w = await http('POST', `${api.url}/v1/deployments/${id}/what-if`, { token: OPERATOR, body: { policy: 'greedy', mapVersion: 1 } });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ policy: 'greedy', mapVersion: 1, status: 'proposed' });
    expect(w.body.layers).toHaveLength(2);
    expect(w.body.bytes).toBe(w.body.transfers * 1_000_000);
    const bad = await http('POST', `${api.url}/v1/deployments/${id}/what-if`, { token: OPERATOR, body: { policy: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/unknown policy "nope"/);
  });
});
