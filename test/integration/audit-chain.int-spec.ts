import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { AuditEventResponse, AuditEventsResponse, intervalCorrelationId } from '@eplb/contracts';
import { SimulatedBackend } from '@eplb/device';
import { DeploymentShape } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { eventsCommand } from '../../apps/eplb/src/commands/events.command';
import { rolloutCommand } from '../../apps/eplb/src/commands/rollout.command';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { simulatorCli } from '../../apps/simulator/src/cli';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { agentKeys } from '../support/agent-keys';
import { startSimulatedBackends } from '../support/simulated-cluster';

/**
 * Issue 14 (d), one chain of custody on the real stack: the simulator publishes skewed heat
 * (following the committed maps through the API) → the collector seals intervals → the scheduler
 * runs the policy (approve mode) → an operator approves and asks for a rollout with a gated first
 * batch → the rollout service drives two agents → every layer committed, the gate's verdict, the
 * end, and the measured outcome. The audit API finds all of it by the interval's correlation id.
 */
describe('audit: the whole chain found by one correlation id', () => {
  const config = testConfig();
  const settings = testRolloutSettings({
    ROLLOUT_ANALYSIS_MIN_EPISODES: '4',
    ROLLOUT_ANALYSIS_POLL_MS: '200',
    ROLLOUT_ANALYSIS_TIMEOUT_MS: '60000',
    ROLLOUT_OUTCOME_POLL_MS: '300',
  });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-audit-chain-agents' });
  const BYTES = 512;
  const shape: DeploymentShape = { numLayers: 4, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = shape;
  const id = `audit-${randomUUID().slice(0, 8)}`;
  const argv = [
    '--deployment', id, '--scenario', 'stationary', '--zipf', '1.2', '--top-k', '2', '--noise', '0.1', '--seed', '21',
    '--episode-steps', '4', '--rate', '80', '--duration', '300', '--map-source', 'api', '--map-refresh-ms', '100',
    '--token', OPERATOR, '--no-validate',
  ];

  let api: RunningApp;
  let collector: RunningApp;
  let scheduler: INestApplication;
  let rollout: INestApplication;
  let rolloutUrl: string;
  const backends: SimulatedBackend[] = [];
  const runtimes: AgentRuntime[] = [];
  const stop = new AbortController();
  const stderr: string[] = [];
  let sim: Promise<number> | null = null;

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    ({ app: rollout, url: rolloutUrl } = await startRolloutApp(config, settings));
    const logger = createLogger('scheduler', config.LOG_LEVEL);
    scheduler = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: '127.0.0.1', port: 0 });

    // round-robin: the skewed heat makes it worth replacing
    const v1 = Array.from({ length: L }, () => Array.from({ length: R * S }, (_, p) => p % E));
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: L, experts: E, ranks: R, slotsPerRank: S, nodes: shape.numNodes },
        windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
        initialMap: v1,
        settings: { expertBytes: BYTES, mode: 'approve', cadenceSeconds: 1, threshold: 0.02, minGain: 0.01 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    const bs = await startSimulatedBackends({ shape, map: v1, expertBytes: BYTES });
    backends.push(...bs);
    const control = { endpoints: [{ host: '127.0.0.1', port: rollout.get(RolloutService).controlChannelPort }] };
    runtimes.push(...bs.map((b, a) => new AgentRuntime({ deployment: id, node: a, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: agentKeys(), control })));
    await Promise.all(runtimes.map((rt) => rt.start()));
    await eventually(async () => runtimes.every((rt) => rt.ready && rt.controlConnected), 60_000);

    sim = simulatorCli({
      argv: [...argv, '--api', api.url],
      defaultToken: OPERATOR,
      defaultBrokers: () => config.KAFKA_BROKERS,
      signal: stop.signal,
      stdout: () => undefined,
      stderr: (l) => stderr.push(l),
    });
  }, 180_000);

  afterAll(async () => {
    stop.abort();
    await sim?.catch(() => -1);
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    await scheduler?.close();
    await rollout?.close();
    await Promise.all([collector?.close(), api?.close()]);
  });

  const events = async (query: string): Promise<AuditEventsResponse> => {
    const r = await http<AuditEventsResponse>('GET', `${api.url}/v1/deployments/${id}/events?${query}`, { token: OPERATOR });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };

  it('interval → run → map version → rollout → layer commits → gate verdict → end → outcome, by one correlation id', async () => {
    // a proposal (a scheduler of an older build sharing the test Redis may record runs too: take
    // one this build's scheduler recorded, under its interval's correlation id)
    const proposal = await eventually(async () => {
      const items = (await http('GET', `${api.url}/v1/deployments/${id}/runs?status=proposed`, { token: OPERATOR })).body.items as { id: string; interval: number; phase: string }[];
      const recorded = (await events('type=proposal.created&limit=100')).items;
      return items.find((r) => recorded.some((e) => e.payload?.runId === r.id && e.correlationId === intervalCorrelationId(id, r.phase, r.interval)));
    }, 90_000, 500);
    const chain = intervalCorrelationId(id, 'decode', proposal.interval);

    const approved = await http('POST', `${api.url}/v1/deployments/${id}/runs/${proposal.id}/approve`, {
      token: OPERATOR,
      body: { reason: 'audit test approves' },
      headers: { 'x-correlation-id': 'approve-request-1' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const mapVersion = approved.body.mapVersion as number;
    const requested = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, {
      token: OPERATOR,
      body: { mapVersion, steps: [{ layers: 1, analysis: true }, 'rest'], reason: 'audit test deploys' },
      headers: { 'x-correlation-id': 'rollout-request-1' },
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(202);
    const rid = requested.body.rolloutId as string;

    await eventually(async () => {
      const s = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;
      if (['ABORTED', 'ROLLED_BACK', 'REJECTED'].includes(s.status)) throw new Error(`rollout ended ${s.status}: ${JSON.stringify(s.failure ?? s.rejected)}`);
      return s.status === 'SUCCEEDED';
    }, 90_000, 250);
    // the outcome is recorded once the first interval fully under the new map is sealed
    const withOutcome = await eventually(async () => {
      const s = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;
      return s.outcome ? s : null;
    }, 60_000, 300);

    // the whole chain, oldest first, under the interval's correlation id
    const all = await events(`correlation=${encodeURIComponent(chain)}&order=asc&limit=1000`);
    const types = all.items.map((e) => e.type);
    const changed = withOutcome.layers.length as number;
    for (const t of ['interval.sealed', 'proposal.created', 'proposal.approved', 'map-version.created', 'rollout.requested', 'rollout.started', 'rollout.created', 'rollout.analysis', 'rollout.finished', 'rollout.outcome-measured']) {
      expect(types, t).toContain(t);
    }
    expect(types.filter((t) => t === 'rollout.layer-committed')).toHaveLength(L);
    // in the order it happened
    const first = (t: string) => types.indexOf(t);
    expect(types[0]).toBe('interval.sealed');
    expect(first('proposal.created')).toBeLessThan(first('proposal.approved'));
    expect(first('map-version.created')).toBeLessThan(first('rollout.requested'));
    expect(first('rollout.requested')).toBeLessThan(first('rollout.started'));
    expect(first('rollout.analysis')).toBeLessThan(first('rollout.finished'));
    expect(first('rollout.finished')).toBeLessThan(first('rollout.outcome-measured'));
    const one = (t: string): AuditEventResponse => all.items.find((e) => e.type === t)!;
    // the interval the run planned from: sealed by the collector, named in the run's event
    expect(one('interval.sealed')).toMatchObject({ stream: `heat:${id}`, actor: 'service:collector', payload: { phase: 'decode', interval: proposal.interval, episodes: 4 } });
    expect(one('proposal.created').payload).toMatchObject({ runId: proposal.id, interval: proposal.interval });
    expect(one('proposal.created').actor).toBe('scheduler');
    // who allowed it: the operator, whose own request ids are kept beside the chain's
    expect(one('proposal.approved')).toMatchObject({ actor: expect.stringMatching(/^operator:/), reason: 'audit test approves', payload: { runId: proposal.id, mapVersion, requestId: 'approve-request-1' } });
    expect(one('map-version.created').payload).toMatchObject({ version: mapVersion, runId: proposal.id, requestId: 'approve-request-1' });
    expect(one('rollout.requested')).toMatchObject({ reason: 'audit test deploys', payload: { rolloutId: rid, mapVersion, requestId: 'rollout-request-1' } });
    expect(one('rollout.analysis')).toMatchObject({ stream: `rollout:${rid}`, actor: 'service:rollout', payload: { type: 'analysis', batch: 0, passed: true } });
    expect(one('rollout.finished').payload).toMatchObject({ rolloutId: rid, status: 'SUCCEEDED' });
    // what it achieved, measured, beside what the run projected; the API and the metric show it
    expect(one('rollout.outcome-measured').payload).toMatchObject({ rolloutId: rid, status: 'SUCCEEDED', toVersion: mapVersion, why: null, outcome: { projected: { runId: proposal.id } } });
    const measured = withOutcome.outcome.measured;
    expect(measured.layers).toHaveLength(L);
    expect(measured.after.interval).toBeGreaterThan(measured.before.interval);
    expect(measured.before.imbalance).toBeGreaterThan(1);
    expect(measured.gain).toBeCloseTo(measured.before.imbalance - measured.after.imbalance, 9);
    // the interval after's own heat under both maps: the collector keeps each episode's logical heat
    expect(measured.onSameHeat).toMatchObject({ episodes: measured.after.episodes });
    expect(measured.onSameHeat.gain).toBeCloseTo(measured.onSameHeat.previousMap - measured.onSameHeat.newMap, 9);
    expect(changed).toBeGreaterThan(0);
    const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body;
    expect(list.items.find((r: { rolloutId: string }) => r.rolloutId === rid).outcome).toEqual(withOutcome.outcome);
    const metrics = await (await fetch(`${rolloutUrl}/metrics`)).text();
    const gauge = new RegExp(`^eplb_rollout_imbalance_gain\\{deployment="${id}"\\} (\\S+)$`, 'm').exec(metrics);
    expect(Number(gauge?.[1])).toBeCloseTo(measured.gain, 6);
    const sameHeatGauge = new RegExp(`^eplb_rollout_same_heat_gain\\{deployment="${id}"\\} (\\S+)$`, 'm').exec(metrics);
    expect(Number(sameHeatGauge?.[1])).toBeCloseTo(measured.onSameHeat.gain, 6);
    // every event of the rollout's own stream carries the chain (acks, decisions, the gate)
    const machine = all.items.filter((e) => e.stream === `rollout:${rid}`);
    const wholeStream = await events(`type=${encodeURIComponent('rollout.*')}&order=asc&limit=1000`);
    expect(wholeStream.items.filter((e) => e.stream === `rollout:${rid}`).map((e) => e.id)).toEqual(machine.map((e) => e.id));

    // "why did layer N change": its commit's correlation id leads back to the interval
    const commit = (await events(`type=rollout.layer-committed&limit=1`)).items[0];
    expect(commit.correlationId).toBe(chain);

    // newest first, paged by cursor: the same events, in reverse
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditEventsResponse = await events(`correlation=${encodeURIComponent(chain)}&limit=7&payload=false${cursor ? `&cursor=${cursor}` : ''}`);
      for (const e of page.items) expect(e.payload).toBeUndefined();
      paged.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.items.map((e) => e.id).reverse());
    // every sealed interval is on record, each under its own id
    const sealed = (await events('type=interval.sealed&limit=1000')).items;
    expect(sealed.length).toBeGreaterThan(1);
    for (const e of sealed) expect(e.correlationId).toBe(intervalCorrelationId(id, 'decode', e.payload!.interval as number));

    // filters: actor prefix, several types, a time range that ends before the chain began
    const byOperator = await events(`correlation=${encodeURIComponent(chain)}&actor=${encodeURIComponent('operator:*')}`);
    expect(new Set(byOperator.items.map((e) => e.type))).toEqual(new Set(['proposal.approved', 'map-version.created', 'rollout.requested', 'rollout.created']));
    const quiet = await events(`correlation=${encodeURIComponent(chain)}&exclude=${encodeURIComponent('rollout.ack,rollout.decided')}&limit=1000`);
    expect(quiet.items.length).toBeGreaterThan(0);
    expect(quiet.items.map((e) => e.id).sort()).toEqual(all.items.filter((e) => e.type !== 'rollout.ack' && e.type !== 'rollout.decided').map((e) => e.id).sort());
    const two = await events(`correlation=${encodeURIComponent(chain)}&type=proposal.created,rollout.finished`);
    expect(two.items.map((e) => e.type)).toEqual(['rollout.finished', 'proposal.created']);
    const early = await events(`correlation=${encodeURIComponent(chain)}&to=${encodeURIComponent(one('proposal.created').occurredAt)}`);
    expect(early.items.map((e) => e.type)).toEqual(['interval.sealed']);
    const none = await events(`correlation=${encodeURIComponent(chain)}&to=${encodeURIComponent(one('interval.sealed').occurredAt)}`);
    expect(none.items).toEqual([]);
    // following: oldest first after the last id seen; nothing new → the same cursor back
    const last = all.items[all.items.length - 1].id;
    const follow = await events(`correlation=${encodeURIComponent(chain)}&order=asc&cursor=${last}`);
    expect(follow).toMatchObject({ items: [], nextCursor: last });

    // the operator's question from one command: eplb events ID --correlation C (newest at the top)
    const cli = new ApiClient({ baseUrl: api.url, token: OPERATOR, reason: 'eplb CLI' });
    const text: string[] = [];
    expect(await eventsCommand([id, '--correlation', chain, '--limit', '1000'], cli, { write: (t) => text.push(t) })).toBe(0);
    const lines = text.join('').trimEnd().split('\n');
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(lines.find((l) => l.includes(' rollout.layer-committed '))).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  rollout\\.layer-committed   service:rollout  layer \\d+ → v${mapVersion}  \\[${esc(chain)}\\]  rollout ${rid}$`));
    expect(lines.find((l) => l.includes(' proposal.approved '))).toMatch(new RegExp(`operator:\\S+ +run ${proposal.id.slice(0, 8)} → v${mapVersion}  \\[${esc(chain)}\\]  audit test approves$`));
    expect(lines.find((l) => l.includes(' rollout.analysis '))).toContain('batch 0 pass');
    expect(lines.find((l) => l.includes(' rollout.outcome-measured '))).toMatch(/ v\d+ → v\d+: imbalance \d+\.\d{3} → \d+\.\d{3} \(projected \d+\.\d{3} → \d+\.\d{3}; same heat \d+\.\d{3} → \d+\.\d{3}\)  /);
    expect(lines.at(-1)).toMatch(new RegExp(` interval\\.sealed +service:collector  decode interval ${proposal.interval}, imbalance \\d`));
    expect(lines.some((l) => / rollout\.(ack|decided) /.test(l))).toBe(false);
    // and what it did to the imbalance, per layer: eplb rollout status
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((t) => printed.push(String(t)) > 0);
    try {
      expect(await rolloutCommand(['status', id, rid], cli)).toBe(0);
      expect(await rolloutCommand(['history', id], cli)).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(printed[0]).toMatch(/\noutcome imbalance \d+\.\d{3} → \d+\.\d{3} \([−+]\d+\.\d{3}.*; projected \d+\.\d{3} → \d+\.\d{3}; on the heat after: \d+\.\d{3} under the previous map, \d+\.\d{3} under this one, [−+]\d+\.\d{3}\)\n {8}measured on interval \d+ .*\n {8}LAYER  BEFORE  AFTER  GAIN   PROJECTED\n {8}\d+ /);
    expect(printed[1]).toMatch(new RegExp(`\\n${rid}\\s.*\\s\\d+\\.\\d{3}→\\d+\\.\\d{3}\\s+audit test deploys\\n`));

    // a bad query is a 400 naming the field; an unknown deployment a 404
    const bad = await http('GET', `${api.url}/v1/deployments/${id}/events?cursor=abc`, { token: OPERATOR });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('query.cursor');
    expect((await http('GET', `${api.url}/v1/deployments/nope-${id}/events`, { token: OPERATOR })).status).toBe(404);
  }, 300_000);
});
