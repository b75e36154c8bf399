import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { expectedChecksum, SimulatedBackend, SimulatedFaults } from '@eplb/device';
import { DeploymentShape } from '@eplb/domain';
import { MessageBus } from '@eplb/messaging';
import { ApiTokenRepository, appendEvents, DeploymentRepository, DeploymentRolloutsReader, FinishedRollout } from '@eplb/persistence';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import type { AgentStatePort } from '../../apps/agent/src/agent-state';
import { agentKeys } from './agent-keys';
import { eventually } from './apps';

/** A small deployment for rollout tests: version 1 = `current`, version 2 = `target`. */
export const clusterShape: DeploymentShape = { numLayers: 4, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
const P = clusterShape.numRanks * clusterShape.slotsPerRank;
export const current = Array.from({ length: clusterShape.numLayers }, (_, l) => Array.from({ length: P }, (_, p) => (p + l) % clusterShape.numExperts));
export const target = Array.from({ length: clusterShape.numLayers }, (_, l) => Array.from({ length: P }, (_, p) => (p * 3 + 2 * l + 1) % clusterShape.numExperts));
export const EXPERT_BYTES = 512;

export interface SimulatedCluster {
  readonly deployment: string;
  readonly backends: SimulatedBackend[];
  readonly runtimes: AgentRuntime[];
  close(): Promise<void>;
}

/**
 * One simulated backend per node of `shape`, every rank serving `map` as version 1, listening on
 * loopback and peered with the others so remote transfers cross TCP; each gets its own copy of `faults`.
 */
export async function startSimulatedBackends(o: { shape: DeploymentShape; map: number[][]; expertBytes: number; faults?: SimulatedFaults }): Promise<SimulatedBackend[]> {
  const backends = Array.from(
    { length: o.shape.numNodes },
    (_, a) => new SimulatedBackend({ shape: o.shape, agent: a, map: o.map, version: 1, expertBytes: o.expertBytes, ...(o.faults ? { faults: { ...o.faults } } : {}) }),
  );
  const ports = await Promise.all(backends.map((b) => b.listen(0)));
  for (const b of backends) b.setPeers(Object.fromEntries(ports.map((port, a) => [a, { host: '127.0.0.1', port }])));
  return backends;
}

/**
 * Registers `deployment` (v1 = `current`, v2 = `target`) and starts one in-process agent per node
 * (simulated backend moving weights over loopback TCP), each dialling the rollout service's
 * control channel; returns once every agent's consumer is assigned and its connection welcomed.
 */
export async function startSimulatedCluster(
  ds: DataSource,
  o: { deployment: string; bus: MessageBus; groupPrefix: string; controlPort: number; faults?: SimulatedFaults; state?: (node: number, backend: SimulatedBackend) => AgentStatePort },
): Promise<SimulatedCluster> {
  const repo = new DeploymentRepository(ds);
  const meta = { actor: 'test', reason: 'rollout test', correlationId: o.deployment };
  await repo.create(
    { id: o.deployment, ...clusterShape, numGroups: null, episodeSteps: 4, intervalSteps: 16, latenessSteps: 4, initialMap: current, settings: { expertBytes: EXPERT_BYTES } },
    meta,
  );
  await ds.transaction((em) => repo.createMapVersion(em, o.deployment, 1, target, meta, { source: 'test' }));
  const backends = await startSimulatedBackends({ shape: clusterShape, map: current, expertBytes: EXPERT_BYTES, ...(o.faults ? { faults: o.faults } : {}) });
  // each agent presents a token of its own, scoped to its node
  const tokens = await Promise.all(backends.map((_, a) => new ApiTokenRepository(ds).issue(`${o.deployment}-node-${a}`, 'agent', meta, { deployment: o.deployment, node: a })));
  const runtimes = backends.map(
    (b, a) =>
      new AgentRuntime({
        deployment: o.deployment,
        node: a,
        ranks: b.ranks,
        backend: b,
        bus: o.bus,
        groupPrefix: o.groupPrefix,
        token: tokens[a].token,
        keys: agentKeys(),
        control: { endpoints: [{ host: '127.0.0.1', port: o.controlPort }] },
        ...(o.state ? { state: o.state(a, b) } : {}),
      }),
  );
  await Promise.all(runtimes.map((rt) => rt.start()));
  await eventually(async () => runtimes.every((rt) => rt.ready && rt.controlConnected), 60_000);
  return {
    deployment: o.deployment,
    backends,
    runtimes,
    close: async () => {
      await Promise.all(runtimes.map((rt) => rt.close()));
      await Promise.all(backends.map((b) => b.close()));
    },
  };
}

/**
 * Appends a rollout request for `deployment` to `mapVersion`, as the API would; returns its id.
 * `window`: layers in flight at once (absent: the service's setting); 1 for a test that needs a
 * fault to land while one layer is under way and the others wait.
 */
export async function requestRollout(ds: DataSource, deployment: string, mapVersion: number, window?: number): Promise<string> {
  const rolloutId = randomUUID();
  const payload = { rolloutId, mapVersion, ...(window ? { window } : {}) };
  await ds.transaction((em) =>
    appendEvents(em, [{ stream: deploymentRolloutsStream(deployment), type: ROLLOUT_EVENTS.requested, payload, actor: 'test', reason: 'rollout test', correlationId: rolloutId }]),
  );
  return rolloutId;
}

/** The rollout's end as the deployment's log records it, once it is there. */
export async function rolloutFinished(ds: DataSource, deployment: string, rolloutId: string, timeoutMs = 60_000): Promise<FinishedRollout> {
  return eventually(async () => (await new DeploymentRolloutsReader(ds).load(deployment)).view.finished.get(rolloutId), timeoutMs, 100);
}

/**
 * Per layer, the version every rank of every backend is on, each rank holding that version's row
 * with its weights; throws if a layer is mixed (ranks on different versions, or rows not the map's).
 */
export async function heldVersions(backends: readonly SimulatedBackend[]): Promise<number[]> {
  const S = clusterShape.slotsPerRank;
  const layers = await Promise.all(backends.map(async (b) => (await b.describe()).layers));
  return layers[0].map((first, l) => {
    for (const held of layers) {
      const lh = held[l];
      if (lh.version !== first.version) throw new Error(`layer ${l} is mixed: versions ${layers.map((h) => h[l].version).join(' / ')}`);
      const map = lh.version === 1 ? current : target;
      for (const rh of lh.ranks) {
        const row = map[l].slice(rh.rank * S, rh.rank * S + S);
        if (rh.experts.join() !== row.join()) throw new Error(`layer ${l} rank ${rh.rank} holds [${rh.experts.join()}], version ${lh.version} says [${row.join()}]`);
        if (rh.checksums.join() !== row.map((e) => expectedChecksum(l, e, EXPERT_BYTES)).join()) throw new Error(`layer ${l} rank ${rh.rank}: weights are not version ${lh.version}'s`);
      }
    }
    return first.version;
  });
}
