import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { JobSchedulerTemplateOptions } from 'bullmq';
import type { Logger } from 'pino';
import { counter, LOGGER } from '@eplb/platform';
import { PolicyQueue } from './policy-queue';

/** One recurring job: every `every` ms a job `name` with `data`. */
export interface ScheduleSpec {
  readonly every: number;
  readonly name: string;
  readonly data?: Record<string, unknown>;
  readonly opts?: JobSchedulerTemplateOptions;
}

/** Who wants which schedulers: the ids it owns, and those it wants now (by scheduler id). */
export interface ScheduleSource {
  owns(id: string): boolean;
  wanted(): Promise<ReadonlyMap<string, ScheduleSpec>>;
}

const RECONCILE_MS = 10_000;

const schedulesRestored = counter('eplb_scheduler_schedules_restored_total', 'Job schedulers found missing in Redis (lost data, or never set) and set again', ['kind'] as const);

/**
 * Keeps the policy queue's BullMQ job schedulers as their sources want them, by comparing with
 * what Redis holds now — never with a memory of what was set: a Redis that lost its data (a
 * flush, a restart without its last writes) loses the schedulers, and they are set again on the
 * next pass, with no restart. Every RECONCILE_MS: missing or changed ones upserted, owned ones no
 * longer wanted removed. Idempotent (schedulers are keyed by id), so every scheduler instance may
 * reconcile; a failed pass is logged and the next one tries again.
 */
@Injectable()
export class JobSchedules implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sources: ScheduleSource[] = [];
  private timer: NodeJS.Timeout | null = null;
  private passes = 0;

  constructor(
    private readonly queue: PolicyQueue,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  register(source: ScheduleSource): void {
    this.sources.push(source);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile().catch((e: Error) => this.logger.error({ err: e.message }, 'job schedule reconcile failed: retried on the next pass')), RECONCILE_MS);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reconcile(): Promise<void> {
    const q = this.queue.queue;
    const live = new Map((await q.getJobSchedulers()).map((s) => [s.key, s]));
    const first = this.passes++ === 0;
    for (const source of this.sources) {
      const wanted = await source.wanted();
      for (const [id, spec] of wanted) {
        const had = live.get(id);
        if (had && had.every === spec.every) continue;
        await q.upsertJobScheduler(id, { every: spec.every }, { name: spec.name, ...(spec.data ? { data: spec.data } : {}), ...(spec.opts ? { opts: spec.opts } : {}) });
        if (!had && !first) {
          schedulesRestored.inc({ kind: spec.name });
          this.logger.warn({ scheduler: id, everyMs: spec.every }, 'job scheduler missing in Redis: set again');
        } else this.logger.info({ scheduler: id, everyMs: spec.every }, 'job scheduler set');
      }
      for (const id of live.keys()) {
        if (!source.owns(id) || wanted.has(id)) continue;
        await q.removeJobScheduler(id);
        this.logger.info({ scheduler: id }, 'job scheduler removed');
      }
    }
  }
}
