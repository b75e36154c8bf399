import type { AgentPlanPart, DeploymentShape } from '@eplb/domain';

/** A slot written from the rank's own weights (a live slot holding the expert, or an arrival of this transfer). */
export interface BridgeLocal {
  readonly slot: number;
  readonly expert: number;
}
/** A slot written from `source`'s live weights over P2P. */
export interface BridgeRecv {
  readonly slot: number;
  readonly expert: number;
  readonly source: number;
}
/** This rank's live copy of `expert` goes to slot `slot` of rank `to` over P2P. */
export interface BridgeSend {
  readonly slot: number;
  readonly expert: number;
  readonly to: number;
}
export interface BridgeLists {
  readonly local: BridgeLocal[];
  readonly recv: BridgeRecv[];
  readonly send: BridgeSend[];
}

/**
 * What each rank of the part's agent posts for the layer: its local copies, its receives and its
 * sends. Sends to ranks of other agents are the part's `sends`; sends to ranks of the same node are
 * not in them (the part's own `node` receives name their source), so they come from the receives.
 * Every send here is a receive in some agent's part of the same plan, which P2P needs: a send
 * without its receive (or the reverse) never completes.
 */
export function bridgeLists(shape: DeploymentShape, part: AgentPlanPart): Map<number, BridgeLists> {
  const S = shape.slotsPerRank;
  const out = new Map<number, { local: BridgeLocal[]; recv: BridgeRecv[]; send: BridgeSend[] }>(part.ranks.map((r) => [r, { local: [], recv: [], send: [] }]));
  const of = (rank: number, what: string) => {
    const l = out.get(rank);
    if (!l) throw new Error(`${what}: rank ${rank} is not a rank of agent ${part.agent}`);
    return l;
  };
  for (const rec of part.receives) {
    const rank = Math.floor(rec.slot / S);
    if (rec.link === 'local' || rec.source === rank) {
      of(rank, `slot ${rec.slot}`).local.push({ slot: rec.slot, expert: rec.expert });
      continue;
    }
    of(rank, `slot ${rec.slot}`).recv.push({ slot: rec.slot, expert: rec.expert, source: rec.source });
    if (out.has(rec.source)) of(rec.source, `source of slot ${rec.slot}`).send.push({ slot: rec.slot, expert: rec.expert, to: rank });
  }
  for (const s of part.sends) of(s.fromRank, `send to slot ${s.slot}`).send.push({ slot: s.slot, expert: s.expert, to: s.toRank });
  return out;
}
