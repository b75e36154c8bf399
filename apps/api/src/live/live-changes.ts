import type { LiveChange } from '@eplb/contracts';

/** What a page of audit events changed, per kind the console re-reads: each kind once, with the newest id and the types seen. */
export function auditChanges(events: readonly { id: string; stream: string; type: string }[]): LiveChange[] {
  if (events.length === 0) return [];
  const rollout = events.filter((e) => e.stream.startsWith('rollout:') || e.stream.startsWith('rollouts:'));
  const heat = events.filter((e) => e.stream.startsWith('heat:'));
  const change = (kind: LiveChange['kind'], of: typeof events): LiveChange[] =>
    of.length ? [{ kind, cursor: of[of.length - 1].id, types: [...new Set(of.map((e) => e.type))] }] : [];
  // every event is the audit log's: the audit page follows them all
  return [...change('rollout', rollout), ...change('heat', heat), ...change('audit', events)];
}
