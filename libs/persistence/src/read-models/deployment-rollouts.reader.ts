import { DataSource } from 'typeorm';
import { DEPLOYMENT_ROLLOUTS_PREFIX, deploymentRolloutsStream, rolloutStream } from '@eplb/contracts';
import { RolloutEvent } from '@eplb/domain';
import { readStream, readStreamsWithPrefix, readWholeStream, StoredEvent } from '../repositories/event-store';
import { DeploymentRollouts, rolloutMachineEvents } from './deployment-rollouts.projection';

/** A deployment's rollouts read model, with the events it was folded from (for their times). */
export interface RolloutsSnapshot {
  readonly view: DeploymentRollouts;
  readonly events: readonly StoredEvent[];
}

/**
 * Reads the rollouts read model: one deployment folded afresh (`load`), one deployment followed
 * from the last event seen (`follow`: a refresh costs one indexed query), or every deployment's
 * stream followed together (`followAll`: the rollout service's poll for requests and controls).
 */
export class DeploymentRolloutsReader {
  constructor(private readonly ds: DataSource) {}

  /** The deployment's `rollouts:<deployment>` stream, every event, folded. */
  async load(deployment: string): Promise<RolloutsSnapshot> {
    const events = await readWholeStream(this.ds.manager, deploymentRolloutsStream(deployment));
    const view = new DeploymentRollouts(deployment);
    for (const e of events) view.apply(e);
    return { view, events };
  }

  /** The state-machine events of one rollout (`rollout:<id>`), in order: replayed, they are its state. */
  async rolloutEvents(rolloutId: string): Promise<RolloutEvent[]> {
    return rolloutMachineEvents(await readWholeStream(this.ds.manager, rolloutStream(rolloutId)));
  }

  follow(deployment: string): FollowedDeploymentRollouts {
    return new FollowedDeploymentRollouts(this.ds, deployment);
  }

  followAll(): FollowedRollouts {
    return new FollowedRollouts(this.ds, this);
  }
}

/** Event ids below the cursor a follower reads again: transactions that took an id before the cursor may commit after it was read. */
const REREAD_IDS = 500n;

/** One deployment's read model, kept current by reading on from the last event folded. */
export class FollowedDeploymentRollouts {
  readonly view: DeploymentRollouts;
  private cursor = '0';

  constructor(
    private readonly ds: DataSource,
    deployment: string,
  ) {
    this.view = new DeploymentRollouts(deployment);
  }

  async refresh(): Promise<DeploymentRollouts> {
    // Ids are handed out before commit, so a row may appear below the cursor later: re-read a
    // window below it (the fold ignores ids it has seen), as FollowedRollouts does.
    for (let after = BigInt(this.cursor) > REREAD_IDS ? (BigInt(this.cursor) - REREAD_IDS).toString() : '0'; ; ) {
      const page = await readStream(this.ds.manager, deploymentRolloutsStream(this.view.deployment), after, 1000);
      for (const e of page) this.view.apply(e);
      if (page.length > 0 && BigInt(page[page.length - 1].id) > BigInt(this.cursor)) this.cursor = page[page.length - 1].id;
      if (page.length < 1000) {
        this.view.forgetBelow(BigInt(this.cursor) - REREAD_IDS);
        return this.view;
      }
      after = page[page.length - 1].id;
    }
  }
}

/**
 * Each deployment's read model as this process last folded it, read on from there on every use:
 * one indexed query for what was appended since, however long the deployment's history grows
 * (folding the whole stream again read every rollout ever run, on every use). Read with times.
 * For what needs the view as the log says it now (the map in service, the loop's rate limit and
 * cool-down); not for a plan's start (`reload`).
 */
export class FollowedDeploymentViews {
  private readonly followed = new Map<string, FollowedDeploymentRollouts>();

  constructor(private readonly reader: DeploymentRolloutsReader) {}

  /** The deployment's view, brought up to what is committed now. */
  refresh(deployment: string): Promise<DeploymentRollouts> {
    let f = this.followed.get(deployment);
    if (!f) this.followed.set(deployment, (f = this.reader.follow(deployment)));
    return f.refresh();
  }
}

/** Every deployment's read model, kept current by reading on across all `rollouts:*` streams. */
export class FollowedRollouts {
  private readonly views = new Map<string, DeploymentRollouts>();
  private cursor = '0';

  constructor(
    private readonly ds: DataSource,
    private readonly reader: DeploymentRolloutsReader,
  ) {}

  /** Folds what was appended since the last refresh; the views of every deployment seen so far. */
  async refresh(): Promise<ReadonlyMap<string, DeploymentRollouts>> {
    // Ids are handed out before commit, so a row may appear below the cursor later: re-read a
    // window below it (the fold ignores ids it has seen).
    const from = BigInt(this.cursor) > REREAD_IDS ? (BigInt(this.cursor) - REREAD_IDS).toString() : '0';
    for (let after = from; ; ) {
      const rows = await readStreamsWithPrefix(this.ds, DEPLOYMENT_ROLLOUTS_PREFIX, after, 2000);
      for (const r of rows) {
        this.view(r.stream.slice(DEPLOYMENT_ROLLOUTS_PREFIX.length)).apply(r);
        if (BigInt(r.id) > BigInt(this.cursor)) this.cursor = r.id;
      }
      if (rows.length < 2000) {
        for (const v of this.views.values()) v.forgetBelow(BigInt(this.cursor) - REREAD_IDS);
        return this.views;
      }
      after = rows[rows.length - 1].id;
    }
  }

  /** The deployment's view as far as it was followed (empty if nothing was seen of it yet). */
  view(deployment: string): DeploymentRollouts {
    let v = this.views.get(deployment);
    if (!v) this.views.set(deployment, (v = new DeploymentRollouts(deployment)));
    return v;
  }

  /**
   * The deployment's view folded afresh from its whole stream, replacing the followed one: the
   * followed fold may hold committed versions the caller set but never wrote, or may have applied
   * an older row late, and a plan must start from what the log says each layer is on.
   */
  async reload(deployment: string): Promise<DeploymentRollouts> {
    const { view } = await this.reader.load(deployment);
    this.views.set(deployment, view);
    return view;
  }
}
