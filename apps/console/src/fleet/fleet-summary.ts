import type { ApiClient, HeatRangeQuery } from '@eplb/api-client';
import type { DeploymentResponse, ImbalanceTrend, RolloutListItemWithOutcome } from '@eplb/contracts';

/** What the fleet page shows of one deployment. */
export interface FleetRow {
  readonly deployment: DeploymentResponse;
  /** Mean over layers of the newest bucket's per-episode imbalance (max/mean rank load); null: no heat in the last hour. */
  readonly imbalanceNow: number | null;
  /** The layer worst off in that bucket. */
  readonly worstLayer: { readonly layer: number; readonly imbalance: number } | null;
  readonly rebalancing: boolean;
  readonly lastRollout: RolloutListItemWithOutcome | null;
}

/**
 * Imbalance now: the newest time bucket of the trend, averaged over layers — the same overall
 * figure a rollout's measured outcome states (mean over layers of the per-episode imbalance).
 */
export function imbalanceNow(trend: ImbalanceTrend): Pick<FleetRow, 'imbalanceNow' | 'worstLayer'> {
  const newest = trend.buckets.at(-1);
  if (!newest || newest.mean.length === 0) return { imbalanceNow: null, worstLayer: null };
  const mean = newest.mean.reduce((a, b) => a + b, 0) / newest.mean.length;
  let worst = 0;
  for (let l = 1; l < newest.mean.length; l++) if (newest.mean[l] > newest.mean[worst]) worst = l;
  return { imbalanceNow: mean, worstLayer: { layer: worst, imbalance: newest.mean[worst] } };
}

/** Every deployment, page by page, in id order. */
export async function listAllDeployments(api: ApiClient): Promise<DeploymentResponse[]> {
  const all: DeploymentResponse[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await api.listDeployments({ limit: 100, after });
    all.push(...page.items);
    if (!page.next) return all;
    after = page.next;
  }
}

/** One deployment's row: its imbalance in the last hour, whether it rebalances, its newest rollout. */
export async function fleetRow(api: ApiClient, deployment: DeploymentResponse): Promise<FleetRow> {
  const [trend, rebalancing, rollouts] = await Promise.all([
    // the phase the deployment balances is the one its imbalance is judged on
    api.imbalanceTrend(deployment.id, { phase: deployment.settings.phase as HeatRangeQuery['phase'] }),
    api.rebalancing(deployment.id),
    api.listRollouts(deployment.id),
  ]);
  return {
    deployment,
    ...imbalanceNow(trend),
    rebalancing: rebalancing.rebalancing,
    lastRollout: rollouts.items.at(-1) ?? null,
  };
}
