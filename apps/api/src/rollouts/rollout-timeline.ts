import type { RolloutTimeline, RolloutTimelineBar, RolloutTimelineBatch } from '@eplb/contracts';
import type { RolloutEvent, RolloutPlan } from '@eplb/domain';

type Phase = RolloutTimelineBar['phase'];
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The rollout's own log folded into what a timeline draws: one bar per (layer, attempt, phase)
 * from the `decided` event that first sent it to the ack that completed it (every agent holding a
 * part of the layer) or the refusal or deadline that ended it; each batch with its gate's request
 * and verdict; the operator's controls. Re-sends of a command in flight extend nothing: the bar
 * starts when the command was first decided.
 */
export function rolloutTimeline(rolloutId: string, events: readonly RolloutEvent[]): RolloutTimeline {
  let plan: RolloutPlan | null = null;
  const bars: Mutable<RolloutTimelineBar>[] = [];
  const open = new Map<string, { bar: Mutable<RolloutTimelineBar>; acked: Set<number> }>();
  const batches: Mutable<RolloutTimelineBatch>[] = [];
  const operator: RolloutTimeline['operator'] = [];
  /** Per layer, the version its last completed commit put it on. */
  const committedVersion = new Map<number, number>();
  const key = (layer: number, attempt: number, phase: Phase) => `${layer}:${attempt}:${phase}`;
  const agentsOf = (layer: number): number => plan?.layers.find((l) => l.layer === layer)?.forward.length ?? 1;
  const direction = new Map<string, 'forward' | 'inverse'>(); // layer:attempt → as its prepare said

  for (const e of events) {
    switch (e.type) {
      case 'created':
        plan = e.plan;
        for (const b of e.plan.batches) batches.push({ index: b.index, layers: [...b.layers], analysis: b.analysis, gate: null });
        break;
      case 'decided':
        for (const c of e.commands) {
          if (c.kind === 'prepare' || c.kind === 'commit' || c.kind === 'abort') {
            // the log keeps a prepare without its part (the plan has it): a prepare of a layer whose
            // forward commit completed is rolling it back
            if (c.kind === 'prepare' && !direction.has(`${c.layer}:${c.attempt}`)) direction.set(`${c.layer}:${c.attempt}`, plan && committedVersion.get(c.layer) === plan.toVersion ? 'inverse' : 'forward');
            const k = key(c.layer, c.attempt, c.kind);
            if (open.has(k) || bars.some((b) => b.layer === c.layer && b.attempt === c.attempt && b.phase === c.kind)) continue;
            const bar: Mutable<RolloutTimelineBar> = {
              layer: c.layer,
              phase: c.kind,
              direction: direction.get(`${c.layer}:${c.attempt}`) ?? 'forward',
              attempt: c.attempt,
              startMs: e.at,
              endMs: null,
              outcome: 'open',
              error: null,
            };
            bars.push(bar);
            open.set(k, { bar, acked: new Set() });
          } else if (c.kind === 'analyse') {
            const batch = batches.find((b) => b.index === c.batch);
            if (batch && !batch.gate) batch.gate = { requestedMs: e.at, verdictMs: null, passed: null, detail: null };
          } else if (c.kind === 'expire') {
            for (const [k, o] of open) {
              const phaseMatches = c.phase === 'analysis' ? false : o.bar.phase === c.phase;
              if (phaseMatches && (c.layer === null || o.bar.layer === c.layer) && o.bar.attempt === c.attempt) {
                Object.assign(o.bar, { endMs: e.at, outcome: 'expired', error: `${c.phase} deadline passed` });
                open.delete(k);
              }
            }
          }
        }
        break;
      case 'ack': {
        const a = e.ack;
        const k = key(a.layer, a.attempt, a.phase);
        const o = open.get(k);
        if (!o) break;
        if (!a.ok) {
          Object.assign(o.bar, { endMs: e.at, outcome: 'failed', error: a.error ?? `agent ${a.agent} refused` });
          open.delete(k);
          break;
        }
        o.acked.add(a.agent);
        if (o.acked.size >= agentsOf(a.layer)) {
          Object.assign(o.bar, { endMs: e.at, outcome: 'ok' });
          open.delete(k);
          if (a.phase === 'commit' && plan) committedVersion.set(a.layer, o.bar.direction === 'forward' ? plan.toVersion : plan.fromVersion);
        }
        break;
      }
      case 'operator':
        operator.push({ atMs: e.at, action: e.action, actor: e.actor ?? null, reason: e.reason ?? null });
        break;
      case 'analysis': {
        const batch = batches.find((b) => b.index === e.batch);
        if (batch) batch.gate = { requestedMs: batch.gate?.requestedMs ?? e.at, verdictMs: e.at, passed: e.passed, detail: e.detail ?? null };
        break;
      }
      case 'restarted':
        break;
    }
  }

  const layers = plan ? plan.layers.map((l) => ({ layer: l.layer, transfers: l.transfers, bytes: l.bytes })) : [];
  const finalPlan: RolloutPlan | null = plan;
  const bytesMoved = finalPlan ? layers.filter((l) => committedVersion.get(l.layer) === finalPlan.toVersion).reduce((s, l) => s + l.bytes, 0) : 0;
  return {
    rolloutId,
    startedMs: events.length ? events[0].at : null,
    lastEventMs: events.length ? events[events.length - 1].at : null,
    fromVersion: finalPlan?.fromVersion ?? null,
    toVersion: finalPlan?.toVersion ?? null,
    layers,
    bytesPlanned: finalPlan?.bytes ?? 0,
    bytesMoved,
    bars,
    batches,
    operator,
  };
}
