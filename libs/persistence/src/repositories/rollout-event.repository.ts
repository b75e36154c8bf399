import { DataSource } from 'typeorm';
import { deploymentRolloutsStream, ROLLOUT_EVENTS, RolloutControlPayload, RolloutRequestedPayload } from '@eplb/contracts';
import { appendEvents, EventMeta, NewEvent } from './event-store';
import { appendFenced, RolloutFence } from './rollout-fence';

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

  /** Appends under the deployment's rollout fence (see appendFenced); false: fenced out, nothing written. */
  appendFenced(fence: RolloutFence, events: readonly NewEvent[]): Promise<boolean> {
    return appendFenced(this.ds, fence, events);
  }
}
