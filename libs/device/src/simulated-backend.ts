import { AgentPlanPart, DeploymentShape, LayerHoldings, agentOfRank, ranksOfAgent, sameRanks } from '@eplb/domain';
import { DeviceBackend, StagingOptions } from './backend';
import { checksum, expertWeights } from './weights';
import { PeerAddress, PeerConnection, PeerServer } from './peer-link';
import { SimulatedBackendSnapshot, SlotSnapshot } from './simulated-snapshot';
import { Throttle } from './wire';

export interface SimulatedFaults {
  /** prepare of these layers rejects (before any transfer). */
  failPrepareLayers?: number[];
  /** While serving a fetch for these layers, the connection is destroyed. */
  dropConnectionLayers?: number[];
  /** One staged buffer of these layers gets a flipped byte (commit then holds a bad checksum). */
  corruptLayers?: number[];
  /** Added to every prepare, in milliseconds. */
  delayMs?: number;
  /** The next commit of these layers finds its staged weights gone (each listed once per loss). */
  loseStagedLayers?: number[];
  /** These ranks of the node are gone (the agent reports them lost). */
  lostRanks?: number[];
}


export interface SimulatedBackendOptions {
  readonly shape: DeploymentShape;
  /** The node (agent) whose ranks this backend serves. */
  readonly agent: number;
  /** The map in force at start (L rows of P logical ids) and its version. */
  readonly map: readonly (readonly number[])[];
  readonly version: number;
  /** Size of one expert's weights. */
  readonly expertBytes: number;
  /** Cap on the bytes this backend sends to peers per second. */
  readonly bytesPerSecond?: number;
  readonly faults?: SimulatedFaults;
  /** Resolves at the engine's next step boundary; commit swaps then. Default: at once. */
  readonly stepBoundary?: () => Promise<void>;
}

/** Upper bound on the weights one fetch-many answer carries. */
const FETCH_BATCH_BYTES = 64 * 1024 * 1024;


interface RankLayer {
  experts: number[];
  slots: Buffer[];
}

interface Staged {
  readonly part: AgentPlanPart;
  readonly buffers: Map<number, Buffer>;
  /** The rollout it was staged for ('' : not known, e.g. saved before rollouts were named). */
  readonly rolloutId: string;
}

/** Whether staging of `owner` is `rolloutId`'s to commit or drop (no rollout named: anyone's). */
const stagedFor = (owner: string, rolloutId: string | undefined): boolean => rolloutId === undefined || owner === '' || owner === rolloutId;



/**
 * The `simulated` device backend: each rank keeps S byte buffers per layer (deterministic
 * weights, see weights.ts); prepare copies local sources and fetches remote ones over TCP from
 * the backend of the node that holds them (loopback only), commit swaps at a step boundary,
 * abort discards. Sources always read the weights in force (the old map) until the commit.
 */
export class SimulatedBackend implements DeviceBackend {
  readonly ranks: number[];
  readonly faults: SimulatedFaults;
  readonly throttle: Throttle;
  /**
   * The rollout's cap on what this node takes in, shared by every prepare running at once: with
   * several layers staging (a rollout's window), together they stay within the cap, and the
   * earlier layer's transfers, queued first, go first.
   */
  private readonly inbound = new Throttle(undefined);
  /** Bytes sent to and received from peers, experts and answer frames sent, since start (for tests and metrics). */
  readonly traffic = { sent: 0, received: 0, fetches: 0, answers: 0 };
  private readonly state: Map<number, RankLayer>[] = [];
  private readonly versions: number[];
  private readonly staged = new Map<number, Staged>();
  private readonly preparing = new Map<number, { aborted: boolean; rolloutId: string }>();
  private readonly committedOnce = new Set<number>();
  private peers = new Map<number, PeerAddress>();
  /** Checksums of buffers already hashed (slot buffers are never written after they are staged). */
  private readonly sums = new WeakMap<Buffer, string>();
  private readonly pristine = new Map<string, string>();
  private readonly peerServer: PeerServer;
  /** One kept-open connection per peer, as collective communicators stay up between layers. */
  private readonly conns = new Map<number, Promise<PeerConnection>>();

  constructor(private readonly opts: SimulatedBackendOptions) {
    const { shape, agent, map, expertBytes } = opts;
    if (!Number.isInteger(agent) || agent < 0 || agent >= shape.numNodes) throw new Error(`agent ${agent} is not a node of the shape`);
    this.ranks = ranksOfAgent(shape, agent);
    this.faults = opts.faults ?? {};
    this.throttle = new Throttle(opts.bytesPerSecond);
    const S = shape.slotsPerRank;
    const cache = new Map<string, Buffer>();
    for (let l = 0; l < shape.numLayers; l++) {
      const perRank = new Map<number, RankLayer>();
      for (const r of this.ranks) {
        const experts = Array.from(map[l].slice(r * S, r * S + S));
        const slots = experts.map((e) => {
          const key = `${l}:${e}`;
          let w = cache.get(key);
          if (!w) cache.set(key, (w = expertWeights(l, e, expertBytes)));
          return Buffer.from(w); // each slot owns its bytes
        });
        perRank.set(r, { experts, slots });
      }
      this.state.push(perRank);
    }
    this.versions = new Array<number>(shape.numLayers).fill(opts.version);
    this.peerServer = new PeerServer(
      {
        numLayers: shape.numLayers,
        weightsOf: (layer, rank, expert) => this.servedWeights(layer, rank, expert),
        dropsLayer: (layer) => this.faults.dropConnectionLayers?.includes(layer) ?? false,
      },
      this.throttle,
      this.traffic,
    );
  }

  /** Starts serving peers on 127.0.0.1 (port 0 = ephemeral); resolves to the port. */
  listen(port = 0): Promise<number> {
    return this.peerServer.listen(port);
  }

  /** Where the other agents' backends listen. */
  setPeers(peers: ReadonlyMap<number, PeerAddress> | Record<number, PeerAddress>): void {
    this.peers = peers instanceof Map ? new Map(peers) : new Map(Object.entries(peers).map(([k, v]) => [Number(k), v]));
    for (const c of this.conns.values()) void c.then((x) => x.close(), () => undefined);
    this.conns.clear();
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) void c.then((x) => x.close(), () => undefined);
    this.conns.clear();
    await this.peerServer.close();
  }

  // ------------------------------------------------------------------------------------------
  // DeviceBackend

  async prepare(layer: number, part: AgentPlanPart, opts?: StagingOptions): Promise<void> {
    this.checkLayer(layer);
    if (part.layer !== layer) throw new Error(`part is for layer ${part.layer}, not ${layer}`);
    if (part.agent !== this.opts.agent || !sameRanks(part.ranks, this.ranks)) {
      throw new Error(`part for agent ${part.agent} (ranks ${part.ranks.join(',')}) given to agent ${this.opts.agent}`);
    }
    const S = this.opts.shape.slotsPerRank;
    for (const rec of part.receives) {
      if (!this.ranks.includes(Math.floor(rec.slot / S))) throw new Error(`slot ${rec.slot} is not on a rank of agent ${this.opts.agent}`);
    }
    // a new prepare replaces whatever was staged or running for this layer
    const prev = this.preparing.get(layer);
    if (prev) prev.aborted = true;
    this.staged.delete(layer);
    const rolloutId = opts?.rolloutId ?? '';
    const token = { aborted: false, rolloutId };
    this.preparing.set(layer, token);
    const stillMine = () => {
      if (token.aborted) throw new Error(`prepare of layer ${layer} aborted`);
    };
    try {
      // Staging yields to the commit path: the service sends an agent the commit of one layer and
      // the prepare of a later one in one write, and the commit's ack is what the rollout waits
      // for — it leaves in this turn of the event loop, this prepare's fetches in the next.
      await new Promise<void>((r) => setImmediate(r));
      stillMine();
      if (this.faults.delayMs) await new Promise((r) => setTimeout(r, this.faults.delayMs));
      stillMine();
      if (this.faults.failPrepareLayers?.includes(layer)) throw new Error(`injected fault: prepare of layer ${layer} fails`);
      if (opts?.repair) {
        // peers may have swapped already: every incoming expert comes from the checkpoint
        // (here: the deterministic weights every replica of the expert must have)
        const fromCheckpoint = new Map(part.receives.map((rec) => [rec.slot, expertWeights(layer, rec.expert, this.opts.expertBytes)] as const));
        stillMine();
        this.staged.set(layer, { part, buffers: fromCheckpoint, rolloutId });
        return;
      }
      const buffers = new Map<number, Buffer>();
      const deferred: { slot: number; rank: number; expert: number }[] = [];
      const remote = new Map<number, { slot: number; rank: number; expert: number }[]>();
      // one cap for all of this prepare's peers and every other prepare running beside it
      if (opts?.bytesPerSecond) this.inbound.bytesPerSecond = opts.bytesPerSecond;
      const inbound = opts?.bytesPerSecond ? this.inbound : null;
      for (const rec of part.receives) {
        const rank = Math.floor(rec.slot / S);
        const src = this.state[layer].get(rec.source);
        if (src) {
          const j = src.experts.indexOf(rec.expert);
          if (j >= 0) {
            buffers.set(rec.slot, Buffer.from(src.slots[j]));
            continue;
          }
          if (rec.source !== rank) throw new Error(`rank ${rec.source} does not hold expert ${rec.expert} of layer ${layer}`);
          deferred.push({ slot: rec.slot, rank, expert: rec.expert }); // a copy of what arrives on this rank
          continue;
        }
        const peer = agentOfRank(this.opts.shape, rec.source);
        const list = remote.get(peer) ?? [];
        list.push({ slot: rec.slot, rank: rec.source, expert: rec.expert });
        remote.set(peer, list);
      }
      const B = this.opts.expertBytes;
      // one fetch per peer for all the layer's experts it holds (split only past ~64 MB of
      // weights), all pipelined at once; under the rollout's cap each waits for its bytes' turn
      const per = Math.max(1, Math.floor(FETCH_BATCH_BYTES / Math.max(1, B)));
      const fetches: { peer: number; items: { slot: number; rank: number; expert: number }[]; body: Promise<Buffer> }[] = [];
      for (const [peer, all] of remote) {
        const addr = this.peers.get(peer);
        if (!addr) throw new Error(`no address for agent ${peer}`);
        for (let i = 0; i < all.length; i += per) {
          const items = all.slice(i, i + per);
          const wait = inbound ? inbound.reserve(items.length * B) : 0;
          fetches.push({ peer, items, body: this.fetchFrom(peer, addr, layer, items, wait, stillMine) });
        }
      }
      // the first failed fetch fails the layer at once (the others' answers are dropped as they come)
      const bodies = await Promise.all(fetches.map((f) => f.body));
      fetches.forEach(({ peer, items }, k) => {
        const body = bodies[k];
        if (body.length !== items.length * B) throw new Error(`peer ${peer} sent ${body.length} bytes for ${items.length} experts, expected ${items.length * B}`);
        // the answer's body is this prepare's own copy: each slot is its range of it
        items.forEach((it, j) => buffers.set(it.slot, body.subarray(j * B, (j + 1) * B)));
        this.traffic.received += body.length;
      });
      stillMine();
      for (const d of deferred) {
        const from = part.receives.find((r) => Math.floor(r.slot / S) === d.rank && r.expert === d.expert && buffers.has(r.slot) && r.slot !== d.slot);
        if (!from) throw new Error(`expert ${d.expert} does not arrive on rank ${d.rank} of layer ${layer}`);
        buffers.set(d.slot, Buffer.from(buffers.get(from.slot) as Buffer));
      }
      if (this.faults.corruptLayers?.includes(layer) && buffers.size > 0) {
        const first = buffers.values().next().value as Buffer;
        if (first.length > 0) first[0] ^= 0xff;
      }
      this.staged.set(layer, { part, buffers, rolloutId });
    } finally {
      if (this.preparing.get(layer) === token) this.preparing.delete(layer);
    }
  }

  /** One fetch from `peer`, sent `waitMs` from now (the inbound cap's turn) unless the prepare was stopped by then. */
  private async fetchFrom(peer: number, addr: PeerAddress, layer: number, items: readonly { rank: number; expert: number }[], waitMs: number, stillMine: () => void): Promise<Buffer> {
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    stillMine();
    const conn = await this.connection(peer, addr);
    return conn.fetch(layer, items);
  }

  /** The kept-open connection to `peer`, (re)opened when there is none or it failed. */
  private async connection(peer: number, addr: PeerAddress): Promise<PeerConnection> {
    const cached = this.conns.get(peer);
    if (cached) {
      const c = await cached.catch(() => null);
      if (c?.usable) return c;
      if (this.conns.get(peer) === cached) this.conns.delete(peer);
    }
    let opening = this.conns.get(peer);
    if (!opening) {
      opening = PeerConnection.open(addr);
      this.conns.set(peer, opening);
      opening.catch(() => {
        if (this.conns.get(peer) === opening) this.conns.delete(peer);
      });
    }
    return opening;
  }

  async commit(layer: number, rolloutId?: string): Promise<void> {
    this.checkLayer(layer);
    const owner = this.staged.get(layer)?.rolloutId;
    if (owner !== undefined && !stagedFor(owner, rolloutId)) throw new Error(`layer ${layer} is staged for rollout ${owner}, not ${String(rolloutId)}`);
    const lose = this.faults.loseStagedLayers?.indexOf(layer) ?? -1;
    if (lose >= 0 && this.staged.has(layer)) {
      // the device lost what was staged (once per listed layer)
      this.faults.loseStagedLayers!.splice(lose, 1);
      this.staged.delete(layer);
      throw new Error(`injected fault: the staged weights of layer ${layer} are lost`);
    }
    const st = this.staged.get(layer);
    if (!st) {
      if (this.committedOnce.has(layer)) return; // a repeated commit
      throw new Error(`layer ${layer} has nothing staged`);
    }
    if (this.opts.stepBoundary) await this.opts.stepBoundary();
    if (this.staged.get(layer) !== st) throw new Error(`layer ${layer} was aborted or re-prepared before the step boundary`);
    // the swap: synchronous, so no fetch or describe observes half of it
    const S = this.opts.shape.slotsPerRank;
    for (const rec of st.part.receives) {
      const rl = this.state[layer].get(Math.floor(rec.slot / S)) as RankLayer;
      rl.slots[rec.slot % S] = st.buffers.get(rec.slot) as Buffer;
      rl.experts[rec.slot % S] = rec.expert;
    }
    this.versions[layer] = st.part.version;
    this.staged.delete(layer);
    this.committedOnce.add(layer);
  }

  async abort(layer: number, rolloutId?: string): Promise<void> {
    this.checkLayer(layer);
    const running = this.preparing.get(layer);
    if (running && stagedFor(running.rolloutId, rolloutId)) running.aborted = true;
    const st = this.staged.get(layer);
    if (st && stagedFor(st.rolloutId, rolloutId)) this.staged.delete(layer);
  }

  lostRanks(): number[] {
    return [...(this.faults.lostRanks ?? [])];
  }

  async describe(layers?: readonly number[]): Promise<{ layers: LayerHoldings[] }> {
    const which = layers ?? Array.from({ length: this.opts.shape.numLayers }, (_, l) => l);
    return {
      layers: which.map((l) => {
        this.checkLayer(l);
        return {
          layer: l,
          version: this.versions[l],
          ranks: this.ranks.map((r) => {
            const rl = this.state[l].get(r) as RankLayer;
            return { rank: r, experts: rl.experts.slice(), checksums: rl.slots.map((b) => checksum(b)) };
          }),
        };
      }),
    };
  }

  /**
   * The device memory as it is now: committed weights, staged buffers, versions. A prepare still
   * running is not in it (it has staged nothing yet); restoring such a snapshot means that
   * prepare must be run again.
   */
  snapshot(): SimulatedBackendSnapshot {
    return {
      v: 1,
      agent: this.opts.agent,
      shape: this.opts.shape,
      expertBytes: this.opts.expertBytes,
      layers: this.state.map((perRank, l) => ({
        layer: l,
        version: this.versions[l],
        ranks: this.ranks.map((r) => {
          const rl = perRank.get(r) as RankLayer;
          return { rank: r, slots: rl.slots.map((b, j) => this.slotSnapshot(l, rl.experts[j], b)) };
        }),
      })),
      staged: [...this.staged.entries()]
        .sort(([a], [b]) => a - b)
        .map(([l, st]) => ({
          layer: l,
          ...(st.rolloutId ? { rolloutId: st.rolloutId } : {}),
          part: st.part,
          slots: [...st.buffers.entries()]
            .sort(([a], [b]) => a - b)
            .map(([slot, b]) => {
              const rec = st.part.receives.find((x) => x.slot === slot);
              if (!rec) throw new Error(`staged slot ${slot} of layer ${l} is not in its part`);
              return { slot, ...this.slotSnapshot(l, rec.expert, b) };
            }),
        })),
      committedOnce: [...this.committedOnce].sort((a, b) => a - b),
    };
  }

  /**
   * Puts the device memory back as `snap` recorded it (after an agent restart: the engine's
   * memory outlived the agent process). Every slot's bytes are checked against the recorded
   * checksum; a snapshot of another agent, shape or expert size is refused. Running prepares
   * are stopped.
   */
  restore(snap: SimulatedBackendSnapshot): void {
    const { shape, agent, expertBytes } = this.opts;
    if (snap.v !== 1) throw new Error(`snapshot format ${String(snap.v)} is not 1`);
    if (snap.agent !== agent) throw new Error(`snapshot is of agent ${snap.agent}, not ${agent}`);
    const keys: (keyof DeploymentShape)[] = ['numLayers', 'numExperts', 'numRanks', 'slotsPerRank', 'numNodes'];
    for (const k of keys) if (snap.shape[k] !== shape[k]) throw new Error(`snapshot shape ${k}=${String(snap.shape[k])}, backend has ${String(shape[k])}`);
    if (snap.expertBytes !== expertBytes) throw new Error(`snapshot expert size ${snap.expertBytes} bytes, backend has ${expertBytes}`);
    if (snap.layers.length !== shape.numLayers) throw new Error(`snapshot has ${snap.layers.length} layers, shape ${shape.numLayers}`);
    const S = shape.slotsPerRank;
    const state: Map<number, RankLayer>[] = [];
    const versions: number[] = [];
    snap.layers.forEach((ls, l) => {
      if (ls.layer !== l) throw new Error(`snapshot layer ${ls.layer} at position ${l}`);
      const ranks = ls.ranks.map((r) => r.rank);
      if (!sameRanks(ranks, this.ranks)) throw new Error(`snapshot layer ${l} has ranks [${ranks.join(',')}], agent serves [${this.ranks.join(',')}]`);
      const perRank = new Map<number, RankLayer>();
      for (const rs of ls.ranks) {
        if (rs.slots.length !== S) throw new Error(`snapshot layer ${l} rank ${rs.rank} has ${rs.slots.length} slots, not ${S}`);
        perRank.set(rs.rank, { experts: rs.slots.map((x) => x.expert), slots: rs.slots.map((x) => this.slotBytes(l, x)) });
      }
      state.push(perRank);
      versions.push(ls.version);
    });
    const staged = new Map<number, Staged>();
    for (const st of snap.staged) {
      this.checkLayer(st.layer);
      staged.set(st.layer, { part: st.part, buffers: new Map(st.slots.map((x) => [x.slot, this.slotBytes(st.layer, x)])), rolloutId: st.rolloutId ?? '' });
    }
    for (const p of this.preparing.values()) p.aborted = true;
    this.preparing.clear();
    this.state.splice(0, this.state.length, ...state);
    this.versions.splice(0, this.versions.length, ...versions);
    this.staged.clear();
    for (const [l, st] of staged) this.staged.set(l, st);
    this.committedOnce.clear();
    for (const l of snap.committedOnce) this.committedOnce.add(l);
  }

  private slotSnapshot(layer: number, expert: number, b: Buffer): SlotSnapshot {
    let sum = this.sums.get(b);
    if (sum === undefined) this.sums.set(b, (sum = checksum(b)));
    return sum === this.pristineChecksum(layer, expert) ? { expert, checksum: sum } : { expert, checksum: sum, bytes: b.toString('base64') };
  }

  private slotBytes(layer: number, x: SlotSnapshot): Buffer {
    const b = x.bytes !== undefined ? Buffer.from(x.bytes, 'base64') : expertWeights(layer, x.expert, this.opts.expertBytes);
    if (b.length !== this.opts.expertBytes) throw new Error(`snapshot slot of layer ${layer} expert ${x.expert} has ${b.length} bytes, not ${this.opts.expertBytes}`);
    const sum = checksum(b);
    if (sum !== x.checksum) throw new Error(`snapshot slot of layer ${layer} expert ${x.expert}: bytes do not match the recorded checksum`);
    this.sums.set(b, sum);
    return b;
  }

  private pristineChecksum(layer: number, expert: number): string {
    const key = `${layer}:${expert}`;
    let sum = this.pristine.get(key);
    if (sum === undefined) this.pristine.set(key, (sum = checksum(expertWeights(layer, expert, this.opts.expertBytes))));
    return sum;
  }

  /** Layers with something staged (tests, metrics). */
  stagedLayers(): number[] {
    return [...this.staged.keys()].sort((a, b) => a - b);
  }


  /** What this backend serves a peer: the weights in force (the old map until the commit). */
  private servedWeights(layer: number, rank: number, expert: number): Buffer | string {
    const rl = this.state[layer].get(rank);
    if (!rl) return `rank ${String(rank)} is not served by agent ${this.opts.agent}`;
    const j = rl.experts.indexOf(expert);
    if (j < 0) return `rank ${rank} does not hold expert ${String(expert)} of layer ${layer}`;
    return rl.slots[j];
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.opts.shape.numLayers) throw new Error(`no layer ${layer}`);
  }
}
