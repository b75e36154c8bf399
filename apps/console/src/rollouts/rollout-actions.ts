import type { RolloutLifecycleStatus } from '@eplb/domain';

/** What an operator can do to a rollout: the machine's controls, and undo (roll the version it came from out again). */
export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote' | 'undo';

/**
 * The actions that make sense in a status: a finished rollout takes no controls (the API answers
 * 409), a succeeded one can be undone; promote skips the remaining analysis gates, so it is offered
 * while any can still come.
 */
export function actionsFor(status: RolloutLifecycleStatus, fromVersion: number | null | undefined): RolloutAction[] {
  switch (status) {
    case 'REQUESTED':
      return ['abort'];
    case 'RUNNING':
    case 'ANALYSING':
      return ['pause', 'promote', 'abort'];
    case 'PAUSED':
      return ['resume', 'promote', 'abort'];
    case 'SUCCEEDED':
      return fromVersion ? ['undo'] : [];
    case 'ROLLING_BACK':
    case 'ABORTED':
    case 'ROLLED_BACK':
    case 'REJECTED':
      return [];
  }
}
