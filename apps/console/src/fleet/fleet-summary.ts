import { allPages, ApiClient, HeatRangeQuery } from '@eplb/api-client';
import type { AgentStatusResponse, DeploymentResponse, ImbalanceTrend, RolloutListItemWithOutcome } from '@eplb/contracts';

/** What the fleet page shows of one deployment. */
export interface FleetRow {
  readonly deployment: DeploymentResponse;
  /** Mean over layers of the newest bucket's per-episode imbalance (max/mean rank load); null: no heat in the last hour. */
  readonly imbalanceNow: number | null;
  /** The layer worst off in that bucket. */
  readonly worstLayer: { readonly layer: number; readonly imbalance: number } | null;
  /** Per bucket of the last hour, oldest first: the mean over layers (the sparkline). */
  readonly trend: number[];
  readonly rebalancing: boolean;
  /** Nodes whose agent is heard (on the control channel or over Kafka), of all nodes. */
  readonly agents: { readonly healthy: number; readonly total: number };
  readonly lastRollout: RolloutListItemWithOutcome | null;
}

/**
 * Imbalance now: the newest time bucket of the trend, averaged over layers — the same overall
 * figure a rollout's measured outcome states (mean over layers of the per-episode imbalance).
 */
export function imbalanceNow(trend: ImbalanceTrend): Pick<FleetRow, 'imbalanceNow' | 'worstLayer'> {
  const newest = trend.buckets.at(-1);
  if (!newest || newest.mean.length === 0) return { imbalanceNow: null, worstLayer: null };
  const mean = meanOverLayers(newest.mean);
  let worst = 0;
  for (let l = 1; l < newest.mean.length; l++) if (newest.mean[l] > newest.mean[worst]) worst = l;
  return { imbalanceNow: mean, worstLayer: { layer: worst, imbalance: newest.mean[worst] } };
}

const meanOverLayers = (perLayer: readonly number[]): number => perLayer.reduce((a, b) => a + b, 0) / perLayer.length;

/** The trend as one figure per bucket, oldest first (buckets without layers left out). */
export const overallTrend = (trend: ImbalanceTrend): number[] => trend.buckets.filter((b) => b.mean.length > 0).map((b) => meanOverLayers(b.mean));

/** An agent heard lately, directly or over Kafka, can take part in a rollout. */
export const agentHealthy = (a: AgentStatusResponse): boolean => a.status === 'connected' || a.status === 'kafka-only';

/** Every deployment, page by page, in id order. */
export function listAllDeployments(api: ApiClient): Promise<DeploymentResponse[]> {
  return allPages(
    (after: string | undefined) => api.listDeployments({ limit: 100, after }),
    (p) => p,
  );
}

/** The imbalance trend over the default range (the last hour), every page of it: the newest bucket is on the last. */
async function wholeTrend(api: ApiClient, id: string, phase: HeatRangeQuery['phase']): Promise<ImbalanceTrend> {
  let resolution = '';
  let note = '';
  const buckets = await allPages(
    (from: string | undefined) => api.imbalanceTrend(id, { phase, ...(from ? { from } : {}) }),
    (p) => {
      resolution = p.resolution;
      note = p.note;
      return { items: p.buckets, next: p.next };
    },
  );
  return { resolution, note, buckets, next: null };
}

/** One deployment's row: its imbalance in the last hour, whether it rebalances, its agents, its newest rollout. */
export async function fleetRow(api: ApiClient, deployment: DeploymentResponse): Promise<FleetRow> {
  const [trend, rebalancing, rollouts, agents] = await Promise.all([
    // the phase the deployment balances is the one its imbalance is judged on
    wholeTrend(api, deployment.id, deployment.settings.phase as HeatRangeQuery['phase']),
    api.rebalancing(deployment.id),
    api.listRollouts(deployment.id),
    api.agents(deployment.id),
  ]);
  return {
    deployment,
    ...imbalanceNow(trend),
    trend: overallTrend(trend),
    rebalancing: rebalancing.rebalancing,
    agents: { healthy: agents.agents.filter(agentHealthy).length, total: agents.agents.length },
    lastRollout: rollouts.items.at(-1) ?? null,
  };
}
