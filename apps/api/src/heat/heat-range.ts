import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { DeploymentRecord, DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem, validationProblem } from '@eplb/platform';
import { HEAT_PHASES } from '@eplb/contracts';

export const RESOLUTIONS = ['auto', 'episode', 'minute', 'hour'] as const;
export type Resolution = Exclude<(typeof RESOLUTIONS)[number], 'auto'>;

/** Query parameters every heat read shares: a phase and a time range (ISO-8601, [from, to)). */
export const rangeQuery = z.object({
  phase: z.enum(HEAT_PHASES).default('decode'),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export interface HeatRange {
  readonly deployment: DeploymentRecord;
  readonly phase: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Longest range any heat read may span; rollups make it cheap, the bound keeps it bounded. */
const MAX_RANGE_MS = 400 * 86_400_000;
const DEFAULT_RANGE_MS = 3_600_000;

@Injectable()
export class HeatRangeResolver {
  constructor(private readonly deployments: DeploymentRepository) {}

  async resolve(id: string, q: z.infer<typeof rangeQuery>, now = Date.now()): Promise<HeatRange> {
    const deployment = await this.deployments.find(id);
    if (!deployment) throw notFoundProblem(`deployment ${id} does not exist`);
    const toMs = q.to ? Date.parse(q.to) : now;
    const fromMs = q.from ? Date.parse(q.from) : toMs - DEFAULT_RANGE_MS;
    if (fromMs >= toMs) throw validationProblem([{ field: 'query.from', message: 'must be before to' }]);
    if (toMs - fromMs > MAX_RANGE_MS) throw validationProblem([{ field: 'query.from', message: `range exceeds ${MAX_RANGE_MS / 86_400_000} days` }]);
    return { deployment, phase: q.phase, fromMs, toMs };
  }
}

/** Episodes for short ranges, minute rollups up to three days, hour rollups beyond. */
export function pickResolution(r: HeatRange, asked: (typeof RESOLUTIONS)[number]): Resolution {
  if (asked !== 'auto') return asked;
  const span = r.toMs - r.fromMs;
  return span <= 2 * 3_600_000 ? 'episode' : span <= 3 * 86_400_000 ? 'minute' : 'hour';
}
