import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DeploymentRepository } from '@eplb/persistence';
import { LOGGER } from '@eplb/platform';
import { PolicyQueue } from '../policy-queue';
import { POLICY_RUN_JOB } from './policy-run.job';

const PREFIX = 'policy:';
const RECONCILE_MS = 10_000;

/**
 * Keeps one BullMQ job scheduler per deployment, with the deployment's cadence, in step with the
 * registry: created when a deployment appears, updated when its cadence changes, removed when it
 * goes or its cadence is 0. Idempotent, so every scheduler instance may reconcile: BullMQ keys
 * schedulers by id, and one job per tick is produced whatever the number of instances.
 */
@Injectable()
export class PolicySchedules implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private readonly known = new Map<string, number>();

  constructor(
    private readonly queue: PolicyQueue,
    private readonly deployments: DeploymentRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile().catch((err: unknown) => this.logger.error({ err }, 'policy schedule reconcile failed')), RECONCILE_MS);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reconcile(): Promise<void> {
    const wanted = new Map<string, number>();
    let after: string | undefined;
    for (;;) {
      const page = await this.deployments.list(500, after);
      for (const d of page) if (d.settings.cadenceSeconds > 0) wanted.set(d.id, d.settings.cadenceSeconds * 1000);
      if (page.length < 500) break;
      after = page[page.length - 1].id;
    }
    const q = this.queue.queue;
    for (const [id, every] of wanted) {
      if (this.known.get(id) === every) continue;
      await q.upsertJobScheduler(`${PREFIX}${id}`, { every }, { name: POLICY_RUN_JOB, data: { deployment: id }, opts: { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 200, removeOnFail: 500 } });
      this.known.set(id, every);
      this.logger.info({ deployment: id, everyMs: every }, 'policy schedule set');
    }
    for (const s of await q.getJobSchedulers()) {
      if (!s.key.startsWith(PREFIX)) continue;
      const id = s.key.slice(PREFIX.length);
      if (!wanted.has(id)) {
        await q.removeJobScheduler(s.key);
        this.known.delete(id);
        this.logger.info({ deployment: id }, 'policy schedule removed');
      }
    }
  }
}
