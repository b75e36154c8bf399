/**
 * A lost rank: its agent says it is gone, or its heat stopped while its node's agent is alive (an
 * agent that is not alive is a node problem, not a rank's: the registry shows it and rollouts wait
 * for it). Pure: the caller reads the episodes' missing ranks, the agents' reports and liveness.
 */
export interface LostRanksInput {
  /** Newest first: each episode's ranks that reported nothing. */
  readonly episodes: readonly { readonly missingRanks: readonly number[] }[];
  /** A rank silent in each of this many newest episodes is lost (if its node's agent is alive). */
  readonly silentEpisodes: number;
  /** Ranks agents reported gone. */
  readonly reported: readonly number[];
  /** Is the agent of the node serving `rank` alive? */
  readonly agentAlive: (rank: number) => boolean;
}

export interface LostRank {
  readonly rank: number;
  readonly why: string;
}

export function lostRanks(i: LostRanksInput): LostRank[] {
  const out = new Map<number, string>();
  for (const r of i.reported) out.set(r, `its agent reports rank ${r} gone`);
  const newest = i.episodes.slice(0, i.silentEpisodes);
  if (i.silentEpisodes > 0 && newest.length === i.silentEpisodes) {
    const silent = newest.map((e) => new Set(e.missingRanks)).reduce((a, b) => new Set([...a].filter((r) => b.has(r))));
    for (const r of silent) {
      if (!out.has(r) && i.agentAlive(r)) out.set(r, `no heat from rank ${r} in the last ${i.silentEpisodes} episodes while its node's agent is alive`);
    }
  }
  return [...out].sort((a, b) => a[0] - b[0]).map(([rank, why]) => ({ rank, why }));
}

/**
 * The emergency decision: lost ranks not yet planned around get a map that leaves them out, rolled
 * out before anything else, in every mode but `observe`. One at a time: it waits for a rollout in
 * flight (which may itself be the emergency's).
 */
export type EmergencyDecision =
  | { readonly kind: 'none'; readonly reason: string }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'plan'; readonly ranks: readonly number[]; readonly reason: string };

export interface EmergencySnapshot {
  readonly mode: 'observe' | 'approve' | 'auto';
  readonly lost: readonly LostRank[];
  /** Ranks an emergency rollout already planned around (requested, whatever its fate: the rank's return is the operator's call). */
  readonly handled: readonly number[];
  readonly rolloutInFlight: boolean;
}

export function decideEmergency(s: EmergencySnapshot): EmergencyDecision {
  const fresh = s.lost.filter((l) => !s.handled.includes(l.rank));
  if (fresh.length === 0) return { kind: 'none', reason: 'no lost rank left unplanned' };
  const why = fresh.map((l) => `rank ${l.rank}: ${l.why}`).join('; ');
  if (s.mode === 'observe') return { kind: 'none', reason: `observe mode never deploys (${why})` };
  if (s.rolloutInFlight) return { kind: 'wait', reason: `emergency map waits for the rollout in flight (${why})` };
  const ranks = [...new Set([...s.handled.filter((r) => s.lost.some((l) => l.rank === r)), ...fresh.map((l) => l.rank)])].sort((a, b) => a - b);
  return { kind: 'plan', ranks, reason: `lost ${why}: emergency map without ranks ${ranks.join(', ')}, rolled out first, no analysis gates` };
}
