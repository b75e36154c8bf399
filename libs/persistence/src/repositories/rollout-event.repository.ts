import { DataSource } from 'typeorm';
import { deploymentRolloutsStream, ROLLOUT_EVENTS, RolloutControlPayload, RolloutRequestedPayload } from '@eplb/contracts';
import { DeploymentRollouts } from '../read-models/deployment-rollouts.projection';
import { appendEvents, EventMeta, NewEvent, readWholeStream } from './event-store';
import { appendFenced, nextRolloutGeneration, RolloutFence } from './rollout-fence';

/**
 * Writes of the rollout streams: the API records requests and operator controls in
 * `rollouts:<deployment>`; the rollout service appends its decisions under the deployment's fence
 * and records agents connecting.
 */
export class RolloutEventRepository {
  constructor(private readonly ds: DataSource) {}

  /** A request to roll a map version out; the rollout service picks it up from the stream. */
  async request(deployment: string, payload: RolloutRequestedPayload, meta: EventMeta): Promise<void> {
    await this.append([{ stream: deploymentRolloutsStream(deployment), type: ROLLOUT_EVENTS.requested, payload: { ...payload }, ...meta }]);
  }

  /**
   * A request appended only if the deployment has no rollout requested or running: checked and
   * appended in one transaction holding the deployment's request lock (a transaction-scoped
   * advisory lock), so an operator and the automatic loop, or two loops, never both get one in.
   * `check` sees the folded stream and may refuse with a reason (e.g. a stale version). Returns
   * the rollout that is in the way, or the refusal, when nothing was appended.
   */
  async requestIfIdle(
    deployment: string,
    payload: RolloutRequestedPayload,
    meta: EventMeta,
    check?: (view: DeploymentRollouts) => string | null,
    extra: readonly NewEvent[] = [],
  ): Promise<{ ok: true } | { ok: false; busy?: string; refused?: string }> {
    const stream = deploymentRolloutsStream(deployment);
    return this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`request:${stream}`]);
      const view = new DeploymentRollouts(deployment);
      for (const e of await readWholeStream(em, stream)) view.apply(e);
      const busy = view.active() ?? view.pending()[0]?.payload.rolloutId;
      if (busy) return { ok: false as const, busy };
      const refused = check?.(view) ?? null;
      if (refused) return { ok: false as const, refused };
      await appendEvents(em, [{ stream, type: ROLLOUT_EVENTS.requested, payload: { ...payload }, ...meta }, ...extra]);
      return { ok: true as const };
    });
  }

  /** An operator's pause, resume, abort or promote; the service driving the rollout applies it once. */
  async control(deployment: string, payload: RolloutControlPayload, meta: EventMeta): Promise<void> {
    await this.append([{ stream: deploymentRolloutsStream(deployment), type: ROLLOUT_EVENTS.controlRequested, payload: { ...payload }, ...meta }]);
  }

  /**
   * Appends `event` unless its stream already holds one of its type for the same rollout
   * (`payload.rolloutId`): several rollout-service instances may measure the same outcome, one
   * records it. False: it was already there.
   */
  async appendOnce(event: NewEvent & { payload: { rolloutId: string } }): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      await em.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`eplb.once:${event.type}:${event.payload.rolloutId}`]);
      const found: unknown[] = await em.query(`SELECT 1 FROM events WHERE stream = $1 AND type = $2 AND payload->>'rolloutId' = $3 LIMIT 1`, [event.stream, event.type, event.payload.rolloutId]);
      if (found.length > 0) return false;
      await appendEvents(em, [event]);
      return true;
    });
  }

  /** Appends in one transaction (no fence: for events no rollout lock guards). */
  async append(events: readonly NewEvent[]): Promise<void> {
    await this.ds.transaction((em) => appendEvents(em, events));
  }

  /** A fencing generation for a new rollout-lock holder (see nextRolloutGeneration). */
  nextGeneration(): Promise<number> {
    return nextRolloutGeneration(this.ds);
  }

  /** Appends under the deployment's rollout fence (see appendFenced); false: fenced out, nothing written. */
  appendFenced(fence: RolloutFence, events: readonly NewEvent[]): Promise<boolean> {
    return appendFenced(this.ds, fence, events);
  }
}
