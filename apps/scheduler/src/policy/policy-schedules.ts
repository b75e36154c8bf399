import { Injectable } from '@nestjs/common';
import { DeploymentRepository } from '@eplb/persistence';
import { JobSchedules, ScheduleSource, ScheduleSpec } from '../job-schedules';
import { POLICY_RUN_JOB } from './policy-run.job';

const PREFIX = 'policy:';

/**
 * One job scheduler per deployment, with the deployment's cadence, in step with the registry:
 * wanted while the deployment exists with a cadence above 0 (JobSchedules sets, updates and
 * removes them, and sets them again when Redis lost them).
 */
@Injectable()
export class PolicySchedules implements ScheduleSource {
  constructor(
    private readonly deployments: DeploymentRepository,
    schedules: JobSchedules,
  ) {
    schedules.register(this);
  }

  owns(id: string): boolean {
    return id.startsWith(PREFIX);
  }

  async wanted(): Promise<ReadonlyMap<string, ScheduleSpec>> {
    const wanted = new Map<string, ScheduleSpec>();
    let after: string | undefined;
    for (;;) {
      const page = await this.deployments.list(500, after);
      for (const d of page) {
        if (d.settings.cadenceSeconds <= 0) continue;
        wanted.set(`${PREFIX}${d.id}`, {
          every: d.settings.cadenceSeconds * 1000,
          name: POLICY_RUN_JOB,
          data: { deployment: d.id },
          opts: { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 200, removeOnFail: 500 },
        });
      }
      if (page.length < 500) break;
      after = page[page.length - 1].id;
    }
    return wanted;
  }
}
