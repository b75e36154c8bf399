import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRolloutsStream, LOOP_ACTORS, ROLLOUT_EVENTS } from '@eplb/contracts';
import { expectedChecksum, SimulatedBackend } from '@eplb/device';
import { DeploymentShape } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { DeploymentRepository, HeatWindowRepository, PolicyRunRepository, readWholeStream, StoredEvent } from '@eplb/persistence';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { simulatorCli } from '../../apps/simulator/src/cli';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { agentsLive, RunningRolloutApp, startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { agentKeys } from '../support/agent-keys';
import { startSimulatedBackends } from '../support/simulated-cluster';

/**
 * The closed loop on the real stack: the simulator (following the committed maps through the API)
 * publishes skewed, drifting heat; the collector seals intervals; the scheduler proposes and, in
 * auto mode, approves; the rollout service's automatic loop requests the rollout with the
 * deployment's rollout settings and drives the agents — no operator call. Then: a worse map the
 * loop deploys fails its gate, is rolled back, and the deployment drops to approve mode with the
 * reason in its events; and two versions approved in quick succession, with two rollout-service
 * instances looking, never give two rollouts at once.
 */
describe('auto mode: the loop deploys by itself, safely', () => {
  const config = testConfig();
  const settings = testRolloutSettings({
    ROLLOUT_AUTO_POLL_MS: '250',
    ROLLOUT_ANALYSIS_MIN_EPISODES: '8',
    ROLLOUT_ANALYSIS_POLL_MS: '200',
    ROLLOUT_ANALYSIS_TIMEOUT_MS: '60000',
  });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-auto-loop-agents' });
  const BYTES = 512;
  const shape: DeploymentShape = { numLayers: 4, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = shape;
  const id = `auto-${randomUUID().slice(0, 8)}`;
  const argv = [
    '--deployment', id, '--scenario', 'drift', '--zipf', '1.2', '--top-k', '2', '--noise', '0.05', '--seed', '21',
    '--episode-steps', '256', '--rate', '80', '--duration', '600', '--map-source', 'api', '--map-refresh-ms', '100',
    '--token', OPERATOR, '--no-validate',
  ];
  const v1 = Array.from({ length: L }, () => Array.from({ length: R * S }, (_, p) => p % E));

  let api: RunningApp;
  let collector: RunningApp;
  let scheduler: INestApplication | null = null;
  let rollout: RunningRolloutApp;
  const extra: RunningRolloutApp[] = [];
  let ds: DataSource;
  let heat: HeatWindowRepository;
  let deployments: DeploymentRepository;
  const backends: SimulatedBackend[] = [];
  const runtimes: AgentRuntime[] = [];
  const stop = new AbortController();
  const stderr: string[] = [];
  let sim: Promise<number> | null = null;

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    ds = api.app.get(DataSource);
    heat = new HeatWindowRepository(ds);
    deployments = new DeploymentRepository(ds);
    rollout = await startRolloutApp(config, settings);

    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: L, experts: E, ranks: R, slotsPerRank: S, nodes: shape.numNodes },
        windows: { episodeSteps: 4, intervalSteps: 32, latenessSteps: 4 },
        initialMap: v1,
        // observe until the agents and heat are up; auto below
        settings: { expertBytes: BYTES, cadenceSeconds: 1, threshold: 0.02, minGain: 0.02, mode: 'observe' },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // one agent per node, simulated backends holding v1's weights, on the direct control channel
    const bs = await startSimulatedBackends({ shape, map: v1, expertBytes: BYTES });
    backends.push(...bs);
    const control = { endpoints: [{ host: '127.0.0.1', port: rollout.service.controlChannelPort }] };
    runtimes.push(...bs.map((b, a) => new AgentRuntime({ deployment: id, node: a, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: agentKeys(), control })));
    await Promise.all(runtimes.map((rt) => rt.start()));
    await eventually(async () => runtimes.every((rt) => rt.ready && rt.controlConnected), 60_000);
    await agentsLive(api.url, id, OPERATOR);

    sim = simulatorCli({
      argv: [...argv, '--api', api.url],
      defaultToken: OPERATOR,
      defaultBrokers: () => config.KAFKA_BROKERS,
      signal: stop.signal,
      stdout: () => undefined,
      stderr: (l) => stderr.push(l),
    });
    // a few intervals measured under v1 before the loop may act
    await eventually(async () => (await heat.intervals(id, 'decode', { limit: 3 })).length >= 3, 60_000, 250);
  }, 180_000);

  afterAll(async () => {
    stop.abort();
    const code = await sim?.catch(() => -1);
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    for (const r of extra) await r.app.close();
    await rollout?.app.close();
    await scheduler?.close();
    await Promise.all([collector?.close(), api?.close()]);
    if (sim) expect(code, stderr.join('\n')).toBe(0);
  });

  const patch = async (body: Record<string, unknown>) => {
    const r = await http('PATCH', `${api.url}/v1/deployments/${id}/settings`, { token: OPERATOR, body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const rolloutsStream = () => readWholeStream(ds.manager, deploymentRolloutsStream(id));
  const status = async (rid: string) => (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;
  const finished = (rid: string) =>
    eventually(async () => {
      const s = await status(rid);
      return ['SUCCEEDED', 'ABORTED', 'ROLLED_BACK', 'REJECTED'].includes(s.status) ? s : null;
    }, 120_000, 200);
  const committedVersions = async (): Promise<number[]> => (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body.committedVersions;
  const settled = () =>
    eventually(async () => {
      const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body as { rebalancing: boolean; items: { status: string }[] };
      return !list.rebalancing && list.items.every((i) => !['REQUESTED', 'RUNNING', 'PAUSED', 'ANALYSING', 'ROLLING_BACK'].includes(i.status));
    }, 120_000, 200);
  /**
   * Every rank of every agent holds, per layer, exactly the rows and weights of `want[layer]`, on
   * `version` — or, for a layer the rollout did not move because both versions give it the same
   * rows, on the older version it already held (nothing was sent to it).
   */
  async function expectHoldings(want: number[][], version: number): Promise<void> {
    for (const b of backends) {
      expect(b.stagedLayers()).toEqual([]);
      for (const lh of (await b.describe()).layers) {
        if (lh.version !== version) {
          const held = await deployments.mapVersion(id, lh.version);
          expect(held?.[lh.layer], `layer ${lh.layer} on version ${lh.version}, not ${version}: its rows differ`).toEqual(want[lh.layer]);
        }
        for (const rh of lh.ranks) {
          const row = want[lh.layer].slice(rh.rank * S, rh.rank * S + S);
          expect(rh.experts, `layer ${lh.layer} rank ${rh.rank}`).toEqual(row);
          expect(rh.checksums).toEqual(row.map((e) => expectedChecksum(lh.layer, e, BYTES)));
        }
      }
    }
  }
  /** A new map version as the scheduler approves one in auto mode, planned against `parent`. */
  const autoApproved = (parent: number, map: number[][], why: string) =>
    ds.transaction((em) => deployments.createMapVersion(em, id, parent, map, { actor: LOOP_ACTORS.approver, reason: why, correlationId: `test:${why}` }, { test: why }, { parentMayBeOlder: true }));
  /** The map with its ranks' rows rotated by `k` ranks: the same balance on any heat, every weight moved. */
  const rotated = (map: number[][], k: number) => map.map((row) => Array.from({ length: R * S }, (_, p) => row[(p + k * S) % (R * S)]));
  const requestOf = async (version: number) => (await rolloutsStream()).find((e) => e.type === ROLLOUT_EVENTS.requested && e.payload.mapVersion === version);
  const meanImbalance = (imbalance: number[]) => imbalance.reduce((a, b) => a + b, 0) / imbalance.length;

  /**
   * The rollouts stream never has a request appended while another rollout is requested or
   * running, and started rollouts never overlap.
   */
  function expectOneAtATime(events: readonly StoredEvent[]): void {
    const open = new Set<string>();
    const ended = new Set<string>();
    for (const e of events) {
      const rid = String(e.payload.rolloutId);
      if (e.type === ROLLOUT_EVENTS.requested) {
        expect([...open], `request ${rid} appended while ${[...open].join(', ')} open`).toEqual([]);
        open.add(rid);
      } else if (e.type === ROLLOUT_EVENTS.rejected || e.type === ROLLOUT_EVENTS.finished) {
        open.delete(rid);
        ended.add(rid);
      }
    }
  }

  it('(a) auto mode with skewed, drifting heat: a rollout happens without an operator, every rank holds the new map, the next interval measures better', async () => {
    // one automatic rollout in this part: the one it looks at
    await patch({ mode: 'auto', maxAutoRolloutsPerHour: 1 });
    scheduler = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, createLogger('scheduler', config.LOG_LEVEL)), logger: createLogger('scheduler', config.LOG_LEVEL), host: '127.0.0.1', port: 0 });

    const request = await eventually(async () => (await rolloutsStream()).find((e) => e.type === ROLLOUT_EVENTS.requested), 120_000, 250);
    expect(request.actor).toBe(LOOP_ACTORS.deployer);
    expect(request.payload).toMatchObject({ automatic: true, steps: [{ layers: 1, analysis: true }, 'rest'], onFailure: 'rollback' });
    const rid = String(request.payload.rolloutId);
    const version = Number(request.payload.mapVersion);
    // the version is the scheduler's auto approval of a proposal planned against v1
    const info = await deployments.findMapVersion(id, version);
    expect(info).toMatchObject({ createdBy: LOOP_ACTORS.approver, parentVersion: 1 });
    expect(request.payload.runId).toBe(info!.origin.runId);

    const done = await finished(rid);
    expect(done.status, JSON.stringify(done.failure)).toBe('SUCCEEDED');
    // stop proposing so the agents' holdings stay put while they are read
    await patch({ mode: 'approve', cadenceSeconds: 0 });
    await settled();
    expect(await committedVersions()).toEqual(Array.from({ length: L }, () => version));
    await expectHoldings(info!.physicalToLogical, version);

    // measured by the collector: the interval after the simulator routes by the new map vs the last one wholly under v1
    const requestedAt = request.occurredAt.getTime();
    const before = (await heat.intervals(id, 'decode', { toMs: requestedAt, limit: 20 })).find((i) => i.endedAt.getTime() <= requestedAt)!;
    expect(before).toBeDefined();
    await eventually(async () => Array.from({ length: L }, (_, l) => `sim: layer ${l} now on map version ${version}`).every((line) => stderr.includes(line)), 30_000, 50);
    const followedAt = Date.now();
    const after = await eventually(async () => (await heat.intervals(id, 'decode', { fromMs: followedAt, limit: 50 })).at(-1), 60_000, 250);
    console.log(`auto loop: v1 → v${version}; interval imbalance ${meanImbalance(before.imbalance).toFixed(3)} → ${meanImbalance(after.imbalance).toFixed(3)}`);
    expect(meanImbalance(after.imbalance)).toBeLessThan(meanImbalance(before.imbalance));
    expectOneAtATime(await rolloutsStream());
    // the cap held: one automatic rollout this hour, whatever the scheduler proposed after it
    expect((await rolloutsStream()).filter((e) => e.type === ROLLOUT_EVENTS.requested)).toHaveLength(1);
    await scheduler.close();
    scheduler = null;
  }, 300_000);

  it('(b) an automatic rollout whose gate fails is rolled back, and the deployment drops to approve mode saying why', async () => {
    await settled();
    const [inService] = await committedVersions();
    const serving = (await deployments.mapVersion(id, inService))!;
    // the three hottest experts of the newest interval crowded on rank 0, in every layer: worse on purpose
    const [latest] = await heat.intervals(id, 'decode', { limit: 1 });
    const worse = Array.from({ length: L }, (_, l) => {
      const t = Array.from(latest.logicalLoad.subarray(l * E, (l + 1) * E));
      const byHeat = Array.from({ length: E }, (_, e) => e).sort((a, b) => t[b] - t[a]);
      const cold = byHeat.slice(3);
      return [...byHeat.slice(0, 3), ...Array.from({ length: R * S - 3 }, (_, i) => cold[i % cold.length])];
    });
    const bad = await autoApproved(inService, worse, 'crowded on purpose');
    await patch({ mode: 'auto', maxAutoRolloutsPerHour: 10 });

    const request = await eventually(() => requestOf(bad), 60_000, 250);
    expect(request.actor).toBe(LOOP_ACTORS.deployer);
    const rid = String(request.payload.rolloutId);
    const done = await finished(rid);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.failure.reason).toMatch(/^analysis of batch 0 failed/);

    // the breaker: approve mode, by the loop, the rollback named in the event
    const settings = await eventually(async () => {
      const r = (await http('GET', `${api.url}/v1/deployments/${id}/settings`, { token: OPERATOR })).body;
      return r.mode === 'approve' ? r : null;
    }, 30_000, 250);
    expect(Date.parse(settings.modeSince)).toBeGreaterThan(request.occurredAt.getTime());
    const tripped = (await readWholeStream(ds.manager, `deployment:${id}`)).filter((e) => e.type === 'deployment.settings-updated' && e.actor === LOOP_ACTORS.deployer);
    expect(tripped).toHaveLength(1);
    expect(tripped[0].payload).toMatchObject({ mode: 'approve', trippedBy: rid });
    expect(tripped[0].reason).toContain(`automatic rollout ${rid} was rolled back`);
    expect(tripped[0].correlationId).toBe(request.correlationId);
    // every layer back on the map in service, on every rank
    expect(await committedVersions()).toEqual(Array.from({ length: L }, () => inService));
    await expectHoldings(serving, inService);
  }, 240_000);

  it('(c) versions approved in quick succession, two instances looking: one rollout at a time; a version planned against a map no longer in service is discarded once, with why', async () => {
    await settled();
    extra.push(await startRolloutApp(config, settings, 'rollout-b'));
    const instances = [rollout.service, extra[0].service];
    const [inService] = await committedVersions();
    const serving = (await deployments.mapVersion(id, inService))!;
    const first = await autoApproved(inService, rotated(serving, 1), 'first');
    const next = await autoApproved(inService, rotated(serving, 2), 'second');
    await patch({ mode: 'auto' }); // the operator puts it back in auto after the trip
    await Promise.all([0, 1, 2].flatMap(() => instances.map((i) => i.autoLoop())));

    const request = await eventually(() => requestOf(next), 60_000, 100);
    const rid = String(request.payload.rolloutId);
    // while it runs: a version planned against the map it is replacing
    const stale = await autoApproved(inService, rotated(serving, 3), 'during the rollout');
    await Promise.all(instances.map((i) => i.autoLoop()));
    const done = await finished(rid);
    expect(done.status, JSON.stringify(done.failure)).toBe('SUCCEEDED');

    const discarded = await eventually(async () => (await rolloutsStream()).find((e) => e.type === ROLLOUT_EVENTS.versionDiscarded && e.payload.version === stale), 60_000, 250);
    expect(discarded.actor).toBe(LOOP_ACTORS.deployer);
    expect(discarded.reason).toBe(`v${stale} was planned against v${inService}; v${next} is in service`);
    await Promise.all([0, 1].flatMap(() => instances.map((i) => i.autoLoop())));
    const events = await rolloutsStream();
    expect(events.filter((e) => e.type === ROLLOUT_EVENTS.versionDiscarded && e.payload.version === stale)).toHaveLength(1);
    expect(await requestOf(first)).toBeUndefined(); // superseded by the newer approval, never rolled out
    expect(await requestOf(stale)).toBeUndefined();
    expectOneAtATime(events);
    await settled();
    expect(await committedVersions()).toEqual(Array.from({ length: L }, () => next));
    // the heat file an offline `eplb plan` reads is planned against the map in service, not the newest version
    const file = (await http('GET', `${api.url}/v1/deployments/${id}/heat/export/heat-file`, { token: OPERATOR })).body;
    expect(file.source.map_version).toBe(next);
    expect(file.current).toEqual(await deployments.mapVersion(id, next));
    expect((await deployments.find(id))!.latestMapVersion).toBe(stale);

    // why nothing deploys is visible: a cap of 0 makes the next approved version wait, and GET .../loop says so
    await patch({ maxAutoRolloutsPerHour: 0 });
    const held = await autoApproved(next, rotated(serving, 1), 'capped');
    // (once the cool-down after the last rollout is over: an interval measured after it)
    const capped = `v${held} waits: automatic rollouts are off (cap 0 per hour)`;
    const loop = await eventually(async () => {
      const body = (await http('GET', `${api.url}/v1/deployments/${id}/loop`, { token: OPERATOR })).body;
      return body.lastDecision?.reason === capped ? body : null;
    }, 30_000, 100);
    expect(loop).toMatchObject({ deployment: id, mode: 'auto', maxAutoRolloutsPerHour: 0, lastDecision: { kind: 'wait', reason: capped } });
    expect(await requestOf(held)).toBeUndefined(); // (it stays waiting: the emergency below goes first anyway)
  }, 240_000);

  it('(d) a rank its agent reports gone gets an emergency map, rolled out without gates, every expert kept on live ranks', async () => {
    await settled();
    const [inService] = await committedVersions();
    backends[0].faults.lostRanks = [1];
    const planned = await eventually(async () => (await rolloutsStream()).find((e) => e.type === ROLLOUT_EVENTS.emergencyPlanned), 60_000, 250);
    expect(planned.actor).toBe(LOOP_ACTORS.emergency);
    expect(planned.payload.lostRanks).toEqual([1]);
    expect(planned.reason).toContain('its agent reports rank 1 gone');
    expect(planned.reason).toContain('no analysis gates');
    const version = Number(planned.payload.mapVersion);
    const request = (await requestOf(version))!;
    expect(request.payload).toMatchObject({ steps: ['rest'], emergency: { lostRanks: [1] }, automatic: true });
    const done = await finished(String(request.payload.rolloutId));
    expect(done.status, JSON.stringify(done.failure)).toBe('SUCCEEDED');
    expect(await committedVersions()).toEqual(Array.from({ length: L }, () => version));
    const map = (await deployments.findMapVersion(id, version))!;
    expect(map).toMatchObject({ parentVersion: inService, createdBy: LOOP_ACTORS.emergency, origin: { emergency: true, lostRanks: [1] } });
    for (const row of map.physicalToLogical) {
      const live = row.filter((_, p) => Math.floor(p / S) !== 1);
      for (let e = 0; e < E; e++) expect(live).toContain(e);
    }
    await expectHoldings(map.physicalToLogical, version);
    // planned around once: the rank's return is the operator's call
    await Promise.all([rollout.service, ...extra.map((x) => x.service)].map((i) => i.autoLoop()));
    expect((await rolloutsStream()).filter((e) => e.type === ROLLOUT_EVENTS.emergencyPlanned)).toHaveLength(1);
  }, 180_000);

  it('refuses a rollout, and an approval that deploys, to nodes without a live agent (409 naming them) unless forced', async () => {
    const lone = `${id}-noagents`;
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: lone, shape: { layers: L, experts: E, ranks: R, slotsPerRank: S, nodes: shape.numNodes }, windows: { episodeSteps: 4, intervalSteps: 32, latenessSteps: 4 }, initialMap: v1, settings: { mode: 'approve', expertBytes: BYTES } },
    });
    expect(created.status).toBe(201);
    const runs = new PolicyRunRepository(ds);
    const { run } = await runs.record(
      { deploymentId: lone, runKey: `${lone}:test`, phase: 'decode', interval: 0, policy: 'default', status: 'proposed', reason: 'test proposal', baseMapVersion: 1, figures: {}, candidate: rotated(v1, 1), runMs: 0 },
      { actor: 'test', reason: 'test', correlationId: lone },
    );
    const approve = (body: Record<string, unknown>) => http('POST', `${api.url}/v1/deployments/${lone}/runs/${run.id}/approve`, { token: OPERATOR, body: { reason: 'ship it', deploy: true, ...body } });
    const refused = await approve({});
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: 409, nodes: [0, 1] });
    expect(refused.body.detail).toContain('no live agent on nodes 0, 1');
    // nothing was recorded: the run is undecided, no version, no rollout
    expect((await http('GET', `${api.url}/v1/deployments/${lone}/runs/${run.id}`, { token: OPERATOR })).body.decision).toBeNull();
    expect((await deployments.find(lone))!.latestMapVersion).toBe(1);

    const forced = await approve({ force: true });
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    expect(forced.body).toMatchObject({ mapVersion: 2, rollout: { status: 'REQUESTED' } });
    const req = (await readWholeStream(ds.manager, deploymentRolloutsStream(lone))).find((e) => e.type === ROLLOUT_EVENTS.requested)!;
    expect(req.payload).toMatchObject({ mapVersion: 2, forced: true, runId: run.id, steps: [{ layers: 1, analysis: true }, 'rest'], onFailure: 'rollback' });
    const rid = forced.body.rollout.rolloutId as string;
    await http('POST', `${api.url}/v1/deployments/${lone}/rollouts/${rid}/abort`, { token: OPERATOR, body: { reason: 'no agents: test done' } });

    // a plain rollout request: the same check, and force queues it
    const other = `${id}-noagents2`;
    expect((await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: other, shape: { layers: L, experts: E, ranks: R, slotsPerRank: S, nodes: shape.numNodes }, windows: { episodeSteps: 4, intervalSteps: 32, latenessSteps: 4 }, initialMap: v1 } })).status).toBe(201);
    await ds.transaction((em) => deployments.createMapVersion(em, other, 1, rotated(v1, 1), { actor: 'test', reason: 'test', correlationId: other }, {}));
    const plain = await http('POST', `${api.url}/v1/deployments/${other}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, reason: 'try' } });
    expect(plain.status).toBe(409);
    expect(plain.body).toMatchObject({ type: 'https://eplb.dev/problems/conflict', nodes: [0, 1] });
    expect((await readWholeStream(ds.manager, deploymentRolloutsStream(other))).filter((e) => e.type === ROLLOUT_EVENTS.requested)).toEqual([]);
    const queued = await http('POST', `${api.url}/v1/deployments/${other}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, reason: 'try anyway', force: true } });
    expect(queued.status).toBe(202);
    await http('POST', `${api.url}/v1/deployments/${other}/rollouts/${queued.body.rolloutId}/abort`, { token: OPERATOR, body: { reason: 'no agents: test done' } });
    await eventually(async () => ['ABORTED', 'ROLLED_BACK'].includes((await http('GET', `${api.url}/v1/deployments/${other}/rollouts/${queued.body.rolloutId}`, { token: OPERATOR })).body.status), 60_000, 200);

    // with two instances and the loop taking locks all along, no rollout of this file was started twice
    const twice: { stream: string }[] = await ds.query(
      `SELECT stream FROM events WHERE type = 'rollout.created' AND stream IN (
         SELECT 'rollout:' || (payload->>'rolloutId') FROM events WHERE type = 'rollout.requested' AND stream = ANY($1::text[]))
       GROUP BY stream HAVING count(*) > 1`,
      [[id, lone, other].map(deploymentRolloutsStream)],
    );
    expect(twice).toEqual([]);
  }, 120_000);
});
