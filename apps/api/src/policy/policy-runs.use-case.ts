import { Injectable } from '@nestjs/common';
import type { PolicyRunListResponse, PolicyRunResponse, PolicyRunStatus } from '@eplb/contracts';
import { PolicyRunRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toRunResponse } from './policy.responses';

/** Policy runs, newest first (without their candidate maps), and one run with its candidate. */
@Injectable()
export class PolicyRunsUseCase {
  constructor(private readonly runs: PolicyRunRepository) {}

  async list(dep: string, limit: number, status?: PolicyRunStatus): Promise<PolicyRunListResponse> {
    return { items: (await this.runs.list(dep, limit, status)).map((r) => toRunResponse(r)) };
  }

  async get(dep: string, run: string): Promise<PolicyRunResponse> {
    const r = await this.runs.get(dep, run);
    if (!r) throw notFoundProblem(`deployment ${dep} has no run ${run}`);
    return toRunResponse(r, true);
  }
}
