import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DeploymentRollouts, ROLLOUT_EVENTS, deploymentRolloutsStream } from '@eplb/contracts';
import { readWholeStream, StoredEvent } from '@eplb/persistence';

/** A deployment's rollouts read model, with the events it was folded from (for their times). */
export interface RolloutsSnapshot {
  readonly view: DeploymentRollouts;
  readonly events: readonly StoredEvent[];
}

/** Reads the `rollouts:<deployment>` stream and folds it into the DeploymentRollouts read model. */
@Injectable()
export class DeploymentRolloutsReader {
  constructor(private readonly ds: DataSource) {}

  async load(dep: string): Promise<RolloutsSnapshot> {
    const events = await this.readAll(deploymentRolloutsStream(dep));
    const view = new DeploymentRollouts(dep);
    for (const e of events) view.apply(e);
    return { view, events };
  }

  readAll(stream: string): Promise<StoredEvent[]> {
    return readWholeStream(this.ds.manager, stream);
  }
}

/** REQUESTED, REJECTED, RUNNING (started, not finished) or the final status the service recorded. */
export function statusOf(v: DeploymentRollouts, rolloutId: string): string {
  if (v.rejected.has(rolloutId)) return 'REJECTED';
  const f = v.finished.get(rolloutId);
  if (f) return f.status;
  if (v.started.has(rolloutId)) return 'RUNNING';
  return 'REQUESTED';
}

/** When the rollout's request, start and end were recorded (null: not yet). */
export function timesOf(events: readonly StoredEvent[], rolloutId: string): { requestedAt: Date | null; startedAt: Date | null; finishedAt: Date | null } {
  const at = (type: string) => events.find((e) => e.type === type && e.payload.rolloutId === rolloutId)?.occurredAt ?? null;
  return {
    requestedAt: at(ROLLOUT_EVENTS.requested),
    startedAt: at(ROLLOUT_EVENTS.started),
    finishedAt: at(ROLLOUT_EVENTS.finished) ?? at(ROLLOUT_EVENTS.rejected),
  };
}
