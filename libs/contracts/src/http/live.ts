/**
 * `GET /v1/deployments/{id}/live` (text/event-stream): what changed, so a console re-reads only
 * that. `event:` is the kind, `data:` one JSON LiveChange.
 * - `rollout`: an event of the deployment's rollouts (requests, controls, the machine's own);
 * - `heat`: a newer episode of the phase asked for was stored;
 * - `audit`: anything else recorded for the deployment (settings, runs, map versions, agents).
 */
export const LIVE_KINDS = ['rollout', 'heat', 'audit'] as const;
export type LiveKind = (typeof LIVE_KINDS)[number];

export interface LiveChange {
  kind: LiveKind;
  /** `rollout`/`audit`: the newest event id seen; `heat`: the newest episode. */
  cursor: string;
  /** `rollout`/`audit`: the event types seen since the last change of this kind. */
  types: string[];
}
