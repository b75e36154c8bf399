/**
 * One chain of custody per correlation id (the `correlation_id` of every event it causes):
 * a sealed interval → the policy run that planned from it → the map version approved from the
 * run → every rollout of that version (request, start, each layer's commit, the analysis gate's
 * verdict, the end, the measured outcome). The id is named for the interval, so whoever looks at
 * an interval (heat API) can ask the audit API what came of it, and anyone can compute it.
 *
 * Who sets what:
 * - the collector records `interval.sealed` in `heat:<deployment>` under `intervalCorrelationId`;
 * - the scheduler records a run (and, in `auto` mode, its approval) under `intervalCorrelationId`;
 * - approving or rejecting a proposal (API or scheduler) continues the run's chain; the HTTP
 *   request's own id is kept in the event's payload as `requestId`;
 * - a rollout request (API, or the automatic loop) carries the chain of the map version it
 *   deploys (the correlation id of that version's `map-version.created` event);
 * - the rollout service records every event of a rollout under its request's correlation id.
 * Anything not caused by a run (a deployment created, a map imported, a settings change) keeps
 * the id of the request that caused it.
 */
export const intervalCorrelationId = (deployment: string, phase: string, interval: number): string => `interval:${deployment}:${phase}:${interval}`;

/** The stream of a deployment's heat-history events (`interval.sealed`). */
export const heatStream = (deployment: string): string => `heat:${deployment}`;
