import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { counter, LOGGER, REDIS } from '@eplb/platform';

export const POLICY_QUEUE = 'eplb-policy';

const jobsDone = counter('eplb_scheduler_jobs_total', 'Policy jobs by name and outcome', ['name', 'outcome'] as const);

/** A job kind and its handler; handlers must be idempotent (BullMQ delivers at least once). */
export type JobHandler = (job: Job) => Promise<unknown>;

/**
 * The policy queue and its worker. Job names map to handlers; an unknown name fails at once
 * without retries (UnrecoverableError), as retrying cannot make it known.
 */
@Injectable()
export class PolicyQueue implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly queue: Queue;
  private worker: Worker | null = null;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly onFailure = new Map<string, (job: Job, err: Error) => Promise<void>>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.queue = new Queue(POLICY_QUEUE, { connection: redis, defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 } });
  }

  /** `onFinalFailure` runs once a job of this name failed for good (retries spent, or unrecoverable). */
  register(name: string, handler: JobHandler, onFinalFailure?: (job: Job, err: Error) => Promise<void>): void {
    if (this.handlers.has(name)) throw new Error(`policy job ${name} has two handlers`);
    this.handlers.set(name, handler);
    if (onFinalFailure) this.onFailure.set(name, onFinalFailure);
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker(
      POLICY_QUEUE,
      async (job) => {
        const handler = this.handlers.get(job.name);
        if (!handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
        return handler(job);
      },
      // A job whose worker died (kill -9) is taken back within ~5–10 s instead of BullMQ's 30 s default.
      { connection: this.redis.duplicate(), concurrency: 2, lockDuration: 10_000, stalledInterval: 5_000 },
    );
    this.worker.on('completed', (job) => jobsDone.inc({ name: job.name, outcome: 'completed' }));
    this.worker.on('failed', (job, err) => {
      jobsDone.inc({ name: job?.name ?? 'unknown', outcome: 'failed' });
      this.logger.error({ job: job?.id, name: job?.name, attempt: job?.attemptsMade, err: err.message }, 'policy job failed');
      const final = job && (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1));
      const onFinal = final ? this.onFailure.get(job.name) : undefined;
      if (job && onFinal) void onFinal(job, err).catch((e: Error) => this.logger.error({ job: job?.id, name: job?.name, err: e.message }, 'final failure of a policy job not handled'));
    });
    this.worker.on('error', (err) => this.logger.error({ err: err.message }, 'policy worker error'));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
