import type { ApiClient } from '@eplb/api-client';

/**
 * The map every layer is served by now: per layer, the row of the version committed on it (layers
 * of one deployment may be on different versions after a rollout held its committed layers).
 */
export async function mapInService(api: ApiClient, deployment: string): Promise<{ physicalToLogical: number[][]; versions: number[]; slotsPerRank: number }> {
  const { layerVersions } = await api.rebalancing(deployment);
  const distinct = [...new Set(layerVersions)];
  const maps = new Map(await Promise.all(distinct.map(async (v) => [v, await api.getMapVersion(deployment, v)] as const)));
  const first = maps.get(distinct[0])!;
  return { physicalToLogical: layerVersions.map((v, l) => maps.get(v)!.physicalToLogical[l]), versions: layerVersions, slotsPerRank: first.slotsPerRank };
}
