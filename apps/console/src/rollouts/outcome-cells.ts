import type { RolloutOutcomeResponse } from '@eplb/contracts';

/**
 * A rollout's outcome as the rollouts table shows it: measured before → after (or why not), and
 * the interval after's own heat under the map the rollout found → under the map it left. The
 * second holds the traffic fixed, so on heat that drifts it can say "better" where the first
 * says "worse".
 */
export function outcomeCells(o: RolloutOutcomeResponse | null): { measured: string; sameHeat: string } {
  if (!o) return { measured: '—', sameHeat: '—' };
  const m = o.measured;
  if (!m) return { measured: `n/a (${o.why ?? '?'})`, sameHeat: '—' };
  const same = m.onSameHeat;
  return {
    measured: `${m.before.imbalance.toFixed(3)} → ${m.after.imbalance.toFixed(3)}`,
    sameHeat: same ? `${same.previousMap.toFixed(3)} → ${same.newMap.toFixed(3)}` : '—',
  };
}
