import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { LoopStatusEntry, loopStatusKey, LoopStatusResponse } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem, REDIS } from '@eplb/platform';

/** The deployment's mode and what the automatic loop last decided for it, and why (written by the rollout service). */
@Injectable()
export class LoopStatusUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async execute(dep: string): Promise<LoopStatusResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    let last: LoopStatusEntry | null = null;
    try {
      const text = await this.redis.get(loopStatusKey(dep));
      last = text ? (JSON.parse(text) as LoopStatusEntry) : null;
    } catch {
      last = null; // unreadable: as if the loop had not looked yet
    }
    return {
      deployment: dep,
      mode: d.settings.mode,
      modeSince: d.modeSince.toISOString(),
      maxAutoRolloutsPerHour: d.settings.maxAutoRolloutsPerHour,
      lastDecision: last ? { kind: last.kind, reason: last.reason, at: new Date(last.at).toISOString() } : null,
    };
  }
}
