import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { deploymentRolloutsStream, LOOP_ACTORS, LoopStatusEntry, loopStatusKey, ROLLOUT_EVENTS, RolloutRequestedPayload } from '@eplb/contracts';
import { decideAutoRollout, LoopDecision } from '@eplb/domain';
import { DeploymentRepository, FollowedRollouts, RolloutEventRepository } from '@eplb/persistence';
import { counter, LOGGER, REDIS } from '@eplb/platform';
import { DeploymentDriver } from '../driving/deployment-driver';
import { RolloutDrivers } from '../driving/rollout-drivers';
import { RolloutLog } from '../driving/rollout-log';
import { OnePassAtATime } from '../one-pass-at-a-time';
import { RolloutInstance } from '../rollout-instance';
import { RolloutLock } from '../rollout-lock';
import { EmergencyDeployer } from './emergency-deployer';
import { GatheredLoop, LoopSnapshotReader } from './loop-snapshot';

const decisions = counter('eplb_auto_loop_decisions_total', 'Decisions of the automatic loop that changed something (deploy, discard, trip)', ['deployment', 'kind'] as const);

/**
 * The automatic loop. A lost rank first: in approve and auto mode, EmergencyDeployer rolls out a
 * map around it before anything else. Then auto mode deploys: for every deployment in `auto` mode, the loop gathers its snapshot, asks
 * `decideAutoRollout` and acts — requests the rollout of the approved version with the deployment's
 * rollout settings, records why a stale version is discarded (once), or trips the breaker (the
 * deployment goes to `approve` with an event saying why). Only while this instance holds the
 * deployment's rollout lock (the one the runner drives under), and the request is appended only if
 * no rollout is requested or running, checked in the transaction that appends it.
 */
@Injectable()
export class AutoDeployer {
  private readonly passes = new OnePassAtATime(
    () => this.pass(),
    (e) => this.logger.error({ err: e.message }, 'automatic loop pass failed'),
  );
  /** Per deployment the last wait reason logged, so a long wait is logged once. */
  private readonly waiting = new Map<string, string>();

  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly snapshots: LoopSnapshotReader,
    private readonly events: RolloutEventRepository,
    private readonly drivers: RolloutDrivers,
    private readonly followed: FollowedRollouts,
    private readonly lock: RolloutLock,
    private readonly log: RolloutLog,
    private readonly emergency: EmergencyDeployer,
    private readonly instance: RolloutInstance,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** One pass over the deployments in auto mode; a call while one runs gets that one. */
  tick(): Promise<void> {
    if (this.drivers.closed) return Promise.resolve();
    return this.passes.run();
  }

  drain(): Promise<void> {
    return this.passes.drain();
  }

  /** Lost ranks first (approve and auto mode: the emergency map goes before anything else), then auto mode's versions. */
  private async pass(): Promise<void> {
    for (const dep of await this.deployments.idsInModes(['approve', 'auto'])) {
      if (this.drivers.closed) return;
      await this.underLock(dep, async () => {
        const emergency = await this.emergency.step(dep);
        if (emergency) return this.remember(dep, emergency);
        await this.decideAndAct(dep);
      }).catch((e: Error) => this.logger.error({ deployment: dep, err: e.message }, 'automatic loop failed for a deployment'));
    }
  }

  /**
   * Runs `fn` in the deployment's driver (its lock held by this instance): the driver's own if it
   * drives the deployment now, else one taken with the lock and handed to the request poller,
   * which drives a request it finds through it and lets the lock go once nothing is left — only
   * the poller releases, after its own turn in the driver, so a rollout it is starting never loses
   * the lock under it.
   */
  private async underLock(dep: string, fn: () => Promise<void>): Promise<void> {
    const existing = this.drivers.get(dep);
    if (existing) return existing.serial(fn);
    if (!(await this.lock.acquire(dep))) return; // another instance holds it: that one decides
    const d = new DeploymentDriver(dep);
    this.drivers.add(d);
    this.followed.view(dep); // the poller goes through every deployment it has a view of
    await d.serial(fn);
  }

  private async decideAndAct(dep: string): Promise<void> {
    const g = await this.snapshots.gather(dep);
    if (!g) return;
    const decision = decideAutoRollout(g.snapshot);
    await this.remember(dep, decision);
    switch (decision.kind) {
      case 'idle':
        this.waiting.delete(dep);
        return;
      case 'wait':
        if (this.waiting.get(dep) !== decision.reason) this.logger.info({ deployment: dep, reason: decision.reason }, 'automatic rollout waits');
        this.waiting.set(dep, decision.reason);
        return;
      case 'deploy':
        return this.deploy(g, decision);
      case 'discard':
        return this.discard(g, decision);
      case 'trip':
        return this.trip(g, decision);
    }
  }

  /** The last decision, where the API shows it (GET .../loop); never fails the loop. */
  private async remember(dep: string, d: { kind: string; reason: string }): Promise<void> {
    const entry: LoopStatusEntry = { kind: d.kind, reason: d.reason, at: Date.now(), instance: this.instance.id };
    await this.redis
      .set(loopStatusKey(dep), JSON.stringify(entry), 'PX', 7 * 24 * 3600 * 1000)
      .catch((e: Error) => this.logger.warn({ deployment: dep, err: e.message }, 'loop status not written'));
  }

  private async deploy(g: GatheredLoop, decision: Extract<LoopDecision, { kind: 'deploy' }>): Promise<void> {
    const d = g.deployment;
    const approved = g.snapshot.approved!;
    const rolloutId = randomUUID();
    const s = d.settings;
    const payload: RolloutRequestedPayload = {
      rolloutId,
      mapVersion: decision.version,
      steps: [...s.rolloutSteps],
      onFailure: s.rolloutOnFailure,
      ...(s.rolloutBytesPerSecond ? { bytesPerSecond: s.rolloutBytesPerSecond } : {}),
      automatic: true,
      ...(approved.runId ? { runId: approved.runId } : {}),
    };
    const meta = { actor: LOOP_ACTORS.deployer, reason: decision.reason, correlationId: g.approvedCorrelation ?? rolloutId };
    // the map in service must still be the one the version was planned against when it is appended
    const done = await this.events.requestIfIdle(d.id, payload, meta, (view) => {
      const now = view.inService(d.numLayers);
      return now === approved.parentVersion ? null : `v${decision.version} was planned against v${approved.parentVersion}; v${now ?? '(mixed)'} is in service`;
    });
    if (!done.ok) {
      this.logger.info({ deployment: d.id, version: decision.version, busy: done.busy, refused: done.refused }, 'automatic rollout not requested: the deployment changed meanwhile');
      return;
    }
    this.waiting.delete(d.id);
    decisions.inc({ deployment: d.id, kind: 'deploy' });
    this.logger.info({ deployment: d.id, rolloutId, version: decision.version, runId: approved.runId }, decision.reason);
  }

  private async discard(g: GatheredLoop, decision: Extract<LoopDecision, { kind: 'discard' }>): Promise<void> {
    const d = g.deployment;
    const approved = g.snapshot.approved!;
    await this.log.append(d.id, [
      {
        stream: deploymentRolloutsStream(d.id),
        type: ROLLOUT_EVENTS.versionDiscarded,
        payload: { version: decision.version, parentVersion: approved.parentVersion, inService: g.snapshot.inService, runId: approved.runId },
        actor: LOOP_ACTORS.deployer,
        reason: decision.reason,
        correlationId: g.approvedCorrelation ?? `map-version:${d.id}:${decision.version}`,
      },
    ]);
    decisions.inc({ deployment: d.id, kind: 'discard' });
    this.logger.info({ deployment: d.id, version: decision.version }, decision.reason);
  }

  private async trip(g: GatheredLoop, decision: Extract<LoopDecision, { kind: 'trip' }>): Promise<void> {
    const d = g.deployment;
    const correlationId = g.view.requests.get(decision.rolloutId)?.correlationId ?? decision.rolloutId;
    await this.deployments.updateSettings(d.id, { mode: 'approve' }, { actor: LOOP_ACTORS.deployer, reason: decision.reason, correlationId }, { trippedBy: decision.rolloutId });
    decisions.inc({ deployment: d.id, kind: 'trip' });
    this.logger.warn({ deployment: d.id, rolloutId: decision.rolloutId }, decision.reason);
  }
}
