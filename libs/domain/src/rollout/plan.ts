import { invalid } from '../errors';
import { DeploymentShape, assertShape, nodeOfRank, ranksPerNode } from '../shape/deployment-shape';
import { LayerPlacement, assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { ExpertReceive, LayerTransferPlan, Link, planTransfers } from '../transfer/transfer-plan';
import { imbalance } from '../heat/imbalance';

/**
 * Rollout plan: which layers change, in which order, in which batches, and per layer and agent
 * the part of the transfer plan that agent executes. An agent serves the ranks of one node (rank r
 * is on node ⌊r / (R/N)⌋, docs/design.md "Deployment and shape"), so agent a serves ranks
 * [a·R/N, (a+1)·R/N).
 * Plain data only: the plan is stored in the rollout's first event and replayed from there.
 */

/** One expert weight an agent's rank serves to a rank of another agent during prepare. */
export interface ExpertSend {
  /** Rank whose current (pre-commit) weights are read; served by this agent. */
  readonly fromRank: number;
  readonly toRank: number;
  /** Physical slot written on `toRank`. */
  readonly slot: number;
  readonly expert: number;
  readonly link: Link;
}

/** What one agent does for one layer transition (forward to the target, or back). */
export interface AgentPlanPart {
  readonly layer: number;
  readonly agent: number;
  /** Ranks the agent serves, ascending. */
  readonly ranks: number[];
  /** Map version the layer is on once this part is committed. */
  readonly version: number;
  /** The layer's full physical_to_logical row after commit (every rank routes by it). */
  readonly row: number[];
  /** Slot writes on this agent's ranks, in slot order (as planTransfers gives them). */
  readonly receives: ExpertReceive[];
  /** Weights this agent's ranks serve to ranks of other agents. */
  readonly sends: ExpertSend[];
  /** Bytes arriving from other agents / leaving to other agents. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Both directions of one layer: forward (current → target) and inverse (target → current). */
export interface PlannedLayer {
  readonly layer: number;
  /** The version the layer is on before the rollout (and after a rollback of it). */
  readonly fromVersion: number;
  readonly gain: number;
  readonly forward: AgentPlanPart[];
  readonly inverse: AgentPlanPart[];
  readonly transfers: number;
  readonly bytes: number;
}

export interface RolloutBatch {
  readonly index: number;
  readonly layers: number[];
  /** An analysis gate after the batch has committed. */
  readonly analysis: boolean;
}

/** A batch step as Argo Rollouts writes them: a layer count, 'rest', optionally gated. */
export type BatchStep = number | 'rest' | { readonly layers: number | 'rest'; readonly analysis?: boolean };

export interface RolloutPlanInput {
  readonly rolloutId: string;
  readonly deployment: string;
  readonly shape: DeploymentShape;
  readonly fromVersion: number;
  readonly toVersion: number;
  /**
   * Per layer (length L), the version each layer is on when they differ — after a rollout whose
   * failure held its committed layers; `current` then holds each layer's rows of its version.
   * Default: every layer on `fromVersion`.
   */
  readonly fromVersions?: readonly number[];
  readonly current: readonly LayerPlacement[];
  readonly target: readonly LayerPlacement[];
  readonly expertBytes: number;
  /** Per layer (length L), e.g. the imbalance reduction the proposal expects; default 0. */
  readonly gain?: readonly number[];
  /** Explicit layer order; must name every changed layer once (unchanged layers are dropped). */
  readonly order?: readonly number[];
  /** Default: one batch of every layer, no gate. */
  readonly steps?: readonly BatchStep[];
  /**
   * Expected weight checksum per (layer, logical expert), from the model's manifest. When given,
   * the post-commit reports are checked against it; otherwise only replicas are compared.
   */
  readonly checksums?: readonly (readonly string[])[];
}

export interface RolloutPlan {
  readonly rolloutId: string;
  readonly deployment: string;
  readonly shape: DeploymentShape;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly expertBytes: number;
  /** Changed layers in rollout order. */
  readonly layers: PlannedLayer[];
  readonly batches: RolloutBatch[];
  readonly agents: number;
  readonly transfers: number;
  readonly bytes: number;
  readonly checksums?: readonly (readonly string[])[];
}

/** Agent (node index) serving `rank`. */
export const agentOfRank = (shape: DeploymentShape, rank: number): number => nodeOfRank(shape, rank);

/** Ranks served by agent `agent`, ascending. */
export function ranksOfAgent(shape: DeploymentShape, agent: number): number[] {
  const k = ranksPerNode(shape);
  return Array.from({ length: k }, (_, i) => agent * k + i);
}

/**
 * True when `ranks` are exactly the ranks agent `agent` serves, in ascending order: an agent
 * speaks (acks, holdings, plan parts, snapshots) for all of its node's ranks or for none.
 */
export function isAgentRanks(shape: DeploymentShape, agent: number, ranks: readonly number[]): boolean {
  return sameRanks(ranks, ranksOfAgent(shape, agent));
}

/** True when two rank lists are equal element by element (both ascending by construction). */
export function sameRanks(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((r, k) => r === b[k]);
}

/** Splits one layer's transfer plan into one part per agent (every agent gets a part). */
export function splitByAgent(
  shape: DeploymentShape,
  lp: LayerTransferPlan,
  row: readonly number[],
  version: number,
  expertBytes: number,
): AgentPlanPart[] {
  const N = shape.numNodes;
  const receives: ExpertReceive[][] = Array.from({ length: N }, () => []);
  const sends: ExpertSend[][] = Array.from({ length: N }, () => []);
  const bytesIn = new Array<number>(N).fill(0);
  const bytesOut = new Array<number>(N).fill(0);
  for (let r = 0; r < lp.receives.length; r++) {
    const a = agentOfRank(shape, r);
    for (const rec of lp.receives[r]) {
      receives[a].push(rec);
      if (rec.link === 'local') continue;
      const sa = agentOfRank(shape, rec.source);
      if (sa !== a) {
        sends[sa].push({ fromRank: rec.source, toRank: r, slot: rec.slot, expert: rec.expert, link: rec.link });
        bytesIn[a] += expertBytes;
        bytesOut[sa] += expertBytes;
      }
    }
  }
  const fullRow = Array.from(row);
  return Array.from({ length: N }, (_, a) => ({
    layer: lp.layer,
    agent: a,
    ranks: ranksOfAgent(shape, a),
    version,
    row: fullRow,
    receives: receives[a],
    sends: sends[a],
    bytesIn: bytesIn[a],
    bytesOut: bytesOut[a],
  }));
}

const sameRow = (a: LayerPlacement, b: LayerPlacement): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

function batchesOf(layers: number[], steps: readonly BatchStep[] | undefined): RolloutBatch[] {
  const spec = steps && steps.length > 0 ? steps : (['rest'] as BatchStep[]);
  const out: RolloutBatch[] = [];
  let i = 0;
  spec.forEach((step, k) => {
    const count = typeof step === 'object' ? step.layers : step;
    const analysis = typeof step === 'object' ? step.analysis === true : false;
    if (count === 'rest') {
      if (k !== spec.length - 1) throw invalid(`steps[${k}]`, "'rest' must be the last step");
    } else if (!Number.isInteger(count) || count <= 0) {
      throw invalid(`steps[${k}]`, `must be a positive layer count or 'rest', got ${String(count)}`);
    }
    if (i >= layers.length) return;
    const n = count === 'rest' ? layers.length - i : Math.min(count, layers.length - i);
    out.push({ index: out.length, layers: layers.slice(i, i + n), analysis });
    i += n;
  });
  if (i < layers.length) out.push({ index: out.length, layers: layers.slice(i), analysis: false });
  return out;
}

/** Builds the rollout plan; throws a DomainError naming the offending field. */
export function planRollout(input: RolloutPlanInput): RolloutPlan {
  const { shape, current, target, expertBytes } = input;
  assertShape(shape);
  const P = shape.numRanks * shape.slotsPerRank;
  const L = shape.numLayers;
  assertPhysicalToLogical(current, L, shape.numExperts, P, 'current');
  assertPhysicalToLogical(target, L, shape.numExperts, P, 'target');
  if (!input.rolloutId) throw invalid('rolloutId', 'must not be empty');
  if (!Number.isInteger(input.fromVersion) || !Number.isInteger(input.toVersion) || input.fromVersion === input.toVersion) {
    throw invalid('toVersion', `must be an integer version other than fromVersion ${input.fromVersion}`);
  }
  if (!(Number.isFinite(expertBytes) && expertBytes >= 0)) throw invalid('expertBytes', 'must be a non-negative number');
  const fromVersions = input.fromVersions ?? new Array<number>(L).fill(input.fromVersion);
  if (fromVersions.length !== L || fromVersions.some((v) => !Number.isInteger(v) || v <= 0)) throw invalid('fromVersions', `must be ${L} positive integer versions`);
  const gain = input.gain ?? new Array<number>(L).fill(0);
  if (gain.length !== L || gain.some((g) => !Number.isFinite(g))) throw invalid('gain', `must be ${L} finite numbers`);
  if (input.checksums !== undefined) {
    const c = input.checksums;
    if (c.length !== L || c.some((row) => row.length !== shape.numExperts)) {
      throw invalid('checksums', `must be ${L} rows of ${shape.numExperts} checksums`);
    }
  }

  const changed: number[] = [];
  for (let l = 0; l < L; l++) if (!sameRow(current[l], target[l])) changed.push(l);
  let order: number[];
  if (input.order) {
    const seen = new Set<number>();
    for (const [k, l] of input.order.entries()) {
      if (!Number.isInteger(l) || l < 0 || l >= L) throw invalid(`order[${k}]`, `must be a layer in [0, ${L}), got ${String(l)}`);
      if (seen.has(l)) throw invalid(`order[${k}]`, `layer ${l} named twice`);
      seen.add(l);
    }
    const missing = changed.filter((l) => !seen.has(l));
    if (missing.length > 0) throw invalid('order', `misses changed layer(s) ${missing.join(', ')}`);
    const isChanged = new Set(changed);
    order = input.order.filter((l) => isChanged.has(l));
  } else {
    order = changed.slice().sort((a, b) => gain[b] - gain[a] || a - b);
  }

  const forward = planTransfers(shape, current, target, expertBytes);
  const inverse = planTransfers(shape, target, current, expertBytes);
  const layers: PlannedLayer[] = order.map((l) => ({
    layer: l,
    fromVersion: fromVersions[l],
    gain: gain[l],
    forward: splitByAgent(shape, forward.layers[l], Array.from(target[l]), input.toVersion, expertBytes),
    inverse: splitByAgent(shape, inverse.layers[l], Array.from(current[l]), fromVersions[l], expertBytes),
    transfers: forward.layers[l].transfers,
    bytes: forward.layers[l].bytes,
  }));
  return {
    rolloutId: input.rolloutId,
    deployment: input.deployment,
    shape,
    fromVersion: input.fromVersion,
    toVersion: input.toVersion,
    expertBytes,
    layers,
    batches: batchesOf(order, input.steps),
    agents: shape.numNodes,
    transfers: layers.reduce((s, l) => s + l.transfers, 0),
    bytes: layers.reduce((s, l) => s + l.bytes, 0),
    ...(input.checksums ? { checksums: input.checksums.map((r) => Array.from(r)) } : {}),
  };
}

/**
 * Per layer, how much a rollout is expected to lower the imbalance under `heat` (layers × experts,
 * row-major: e.g. the newest sealed interval's logical load): imbalance on the current rows minus
 * on the target rows. The default layer order is largest gain first.
 */
export function expectedGains(shape: DeploymentShape, current: readonly LayerPlacement[], target: readonly LayerPlacement[], heat: ArrayLike<number>): number[] {
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = shape;
  if (heat.length !== L * E) throw invalid('heat', `must hold ${L} × ${E} loads, got ${heat.length}`);
  const out = new Array<number>(L);
  for (let l = 0; l < L; l++) {
    const h = Array.prototype.slice.call(heat, l * E, (l + 1) * E) as number[];
    out[l] = imbalance(current[l], h, R, S) - imbalance(target[l], h, R, S);
  }
  return out;
}
