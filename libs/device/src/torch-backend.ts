import { AgentPlanPart, DeploymentShape, LayerHoldings, RankHoldings, ranksOfAgent, sameRanks } from '@eplb/domain';
import { DeviceBackend, StagingOptions } from './backend';
import { BridgeClient } from './bridge-client';
import { bridgeLists } from './bridge-lists';

export interface TorchBackendOptions {
  readonly shape: DeploymentShape;
  /** The node (agent) whose ranks this backend drives. */
  readonly agent: number;
  /** Per rank of the node, the local socket its bridge listens on. */
  readonly sockets: Readonly<Record<number, string>>;
  /**
   * How long a rank's bridge waits for the peers of a layer's transfer to join it before it gives
   * the layer up (a late agent, a dead rank); it then fails the prepare instead of hanging in P2P.
   */
  readonly prepareTimeoutMs?: number;
  /** How long a commit waits for the engine's next step boundary. */
  readonly commitTimeoutMs?: number;
}

interface HeldLayer {
  readonly layer: number;
  readonly version: number;
  readonly rank: number;
  readonly experts: number[];
  readonly checksums: string[];
}

/**
 * The `torch` device backend: the node's engine ranks hold the weights, each with an embedded
 * bridge (python/eplb_bridge) that moves them with torch.distributed P2P; this backend tells each
 * rank's bridge, over its local socket, what to post for a layer (bridgeLists), and collects the
 * answers. Prepare runs on all of the node's ranks at once and succeeds when every rank staged;
 * when one fails, the others drop what they staged for the rollout. Commit asks every rank to
 * swap at its next step boundary; describe reads what the ranks hold, checksums computed by the
 * bridges from the live tensors.
 */
export class TorchBackend implements DeviceBackend {
  readonly ranks: number[];
  private readonly clients: Map<number, BridgeClient>;
  /** The checksums each rank's bridge reported for the slots it staged, per layer (tests, metrics). */
  readonly stagedChecksums = new Map<number, Map<number, string>>();

  constructor(private readonly opts: TorchBackendOptions) {
    const { shape, agent } = opts;
    if (!Number.isInteger(agent) || agent < 0 || agent >= shape.numNodes) throw new Error(`agent ${agent} is not a node of the shape`);
    this.ranks = ranksOfAgent(shape, agent);
    this.clients = new Map(
      this.ranks.map((r) => {
        const path = opts.sockets[r];
        if (!path) throw new Error(`no bridge socket for rank ${r} of agent ${agent}`);
        return [r, new BridgeClient(r, path)];
      }),
    );
  }

  /** Opens every rank's connection and checks its bridge serves that rank with the deployment's shape. */
  async connect(): Promise<void> {
    await Promise.all(
      [...this.clients.values()].map(async (c) => {
        const h = await c.request<{ rank: number; layers: number; slotsPerRank: number }>('hello', {});
        if (h.rank !== c.rank || h.layers !== this.opts.shape.numLayers || h.slotsPerRank !== this.opts.shape.slotsPerRank) {
          throw new Error(`bridge at ${c.path} serves rank ${h.rank} with ${h.layers} layers × ${h.slotsPerRank} slots, expected rank ${c.rank} with ${this.opts.shape.numLayers} × ${this.opts.shape.slotsPerRank}`);
        }
      }),
    );
  }

  close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    return Promise.resolve();
  }

  async prepare(layer: number, part: AgentPlanPart, opts?: StagingOptions): Promise<void> {
    this.checkLayer(layer);
    if (part.layer !== layer) throw new Error(`part is for layer ${part.layer}, not ${layer}`);
    if (part.agent !== this.opts.agent || !sameRanks(part.ranks, this.ranks)) {
      throw new Error(`part for agent ${part.agent} (ranks ${part.ranks.join(',')}) given to agent ${this.opts.agent}`);
    }
    const lists = bridgeLists(this.opts.shape, part);
    const rollout = opts?.rolloutId ?? '';
    this.stagedChecksums.delete(layer);
    const results = await Promise.allSettled(
      this.ranks.map(async (r) => {
        const l = lists.get(r)!;
        const repair = opts?.repair === true;
        const ans = await this.client(r).request<{ staged: Record<string, string> }>('prepare', {
          layer,
          rollout,
          attempt: opts?.attempt ?? 0,
          version: part.version,
          row: part.row,
          // a repair reads every incoming expert from the checkpoint: nothing is exchanged with peers
          local: repair ? [...l.local, ...l.recv.map(({ slot, expert }) => ({ slot, expert }))] : l.local,
          recv: repair ? [] : l.recv,
          send: repair ? [] : l.send,
          repair,
          ...(opts?.bytesPerSecond ? { bytesPerSecond: opts.bytesPerSecond / this.ranks.length } : {}),
          timeoutMs: this.opts.prepareTimeoutMs ?? 60_000,
        });
        return ans.staged;
      }),
    );
    if (results.some((x) => x.status === 'rejected')) {
      // the node's ranks stage a layer together or not at all (no attempt: a repair of this
      // attempt may still come)
      await Promise.allSettled(this.ranks.map((r) => this.client(r).request('abort', { layer, rollout })));
      throw this.failure(results);
    }
    const sums = new Map<number, string>();
    for (const x of results) if (x.status === 'fulfilled') for (const [slot, c] of Object.entries(x.value)) sums.set(Number(slot), c);
    this.stagedChecksums.set(layer, sums);
  }

  async commit(layer: number, rolloutId?: string): Promise<void> {
    this.checkLayer(layer);
    const results = await Promise.allSettled(
      this.ranks.map((r) => this.client(r).request('commit', { layer, rollout: rolloutId ?? '', timeoutMs: this.opts.commitTimeoutMs ?? 60_000 })),
    );
    if (results.some((x) => x.status === 'rejected')) throw this.failure(results);
    this.stagedChecksums.delete(layer);
  }

  async abort(layer: number, rolloutId?: string, attempt?: number): Promise<void> {
    this.checkLayer(layer);
    this.stagedChecksums.delete(layer);
    // a rank whose bridge is gone holds nothing staged any more: its abort is done
    await Promise.allSettled(this.ranks.map((r) => this.client(r).request('abort', { layer, rollout: rolloutId ?? '', ...(attempt !== undefined ? { attempt } : {}) })));
  }

  async describe(layers?: readonly number[]): Promise<{ layers: LayerHoldings[] }> {
    const which = layers ?? Array.from({ length: this.opts.shape.numLayers }, (_, l) => l);
    for (const l of which) this.checkLayer(l);
    const perRank = await Promise.all(this.ranks.map((r) => this.client(r).request<{ layers: HeldLayer[] }>('describe', { layers: which })));
    return {
      layers: which.map((l, i) => {
        const held = perRank.map((p) => p.layers[i]);
        const versions = new Set(held.map((h) => h.version));
        // ranks of one node that disagree on the layer's version: the lowest is what the node serves for sure
        const version = Math.min(...versions);
        const ranks: RankHoldings[] = held.map((h) => ({ rank: h.rank, experts: h.experts, checksums: h.checksums }));
        return { layer: l, version, ranks };
      }),
    };
  }

  /** Ranks whose bridge does not answer (the engine worker died or closed its socket). */
  lostRanks(): number[] {
    return this.ranks.filter((r) => this.client(r).lost !== null);
  }

  /**
   * One error for the node's failed ranks. A rank whose bridge is gone comes first: its peers'
   * transfers then fail too (the P2P connection to it reset), and the gone rank is the cause.
   */
  private failure(results: PromiseSettledResult<unknown>[]): Error {
    const why = results.flatMap((x) => (x.status === 'rejected' ? [x.reason instanceof Error ? x.reason.message : String(x.reason)] : []));
    const lost = this.lostRanks();
    const first = lost.length > 0 ? `rank(s) ${lost.join(',')} lost (${this.client(lost[0]).lost ?? 'no answer'})` : why[0];
    return new Error([first, ...why.filter((w) => w !== first)].slice(0, 3).join('; '));
  }

  private client(rank: number): BridgeClient {
    return this.clients.get(rank)!;
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.opts.shape.numLayers) throw new Error(`no layer ${layer}`);
  }
}
