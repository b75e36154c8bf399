import { invalid } from '../errors';
import { DeploymentShape, assertShape, numSlots } from '../shape/deployment-shape';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { HeatEpisodes, toHeatEpisodes } from '../heat/heat';
import { LayerCertainty, PolicyInput, PolicyResult } from './types';

/**
 * The offline heat file of `eplb plan` (docs/design.md, "Offline policy files"), already parsed from
 * JSON: num_ranks, num_nodes, slots_per_rank, num_groups?, heat[episode][layer][expert], current?.
 * Every error names the field, e.g. `heat[2][5]: has 7 experts, expected 8`. `heatRead`: the heat
 * when heatFileFromText has read it from the text already (then `doc` holds the other fields).
 */
export function heatFileToInput(doc: unknown, heatRead?: HeatEpisodes): Omit<PolicyInput, 'options'> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalid('input', 'must be a JSON object with num_ranks, num_nodes, slots_per_rank and heat');
  }
  const d = doc as Record<string, unknown>;
  const int = (key: string, optional = false): number | undefined => {
    const v = d[key];
    if (v === undefined && optional) return undefined;
    if (v === undefined) throw invalid(key, 'is missing');
    if (!Number.isInteger(v) || (v as number) <= 0) throw invalid(key, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const numRanks = int('num_ranks') as number;
  const numNodes = int('num_nodes') as number;
  const slotsPerRank = int('slots_per_rank') as number;
  const numGroups = int('num_groups', true);
  if (d.heat === undefined && !heatRead) throw invalid('heat', 'is missing');
  const heat = heatRead ?? toHeatEpisodes(d.heat, 'heat');
  const shape: DeploymentShape = {
    numLayers: heat[0].length,
    numExperts: heat[0][0].length,
    numRanks,
    numNodes,
    slotsPerRank,
    ...(numGroups !== undefined ? { numGroups } : {}),
  };
  try {
    assertShape(shape);
  } catch (err) {
    const f = (err as { field?: string }).field;
    const names: Record<string, string> = {
      numNodes: 'num_nodes',
      slotsPerRank: 'slots_per_rank',
      numGroups: 'num_groups',
      numRanks: 'num_ranks',
    };
    if (f && names[f]) throw invalid(names[f], (err as Error).message.slice(f.length + 2));
    throw err;
  }
  if (d.current === undefined || d.current === null) return { shape, heat };
  assertPhysicalToLogical(d.current, shape.numLayers, shape.numExperts, numSlots(shape), 'current');
  return { shape, heat, current: d.current };
}

/** The plan file: physical_to_logical plus the report (snake_case, like the heat file). */
export function planFileDocument(result: PolicyResult): Record<string, unknown> {
  return {
    physical_to_logical: result.physicalToLogical,
    policy: result.policy,
    layers: result.layers.map((r) => ({
      imbalance_before: r.imbalanceBefore,
      imbalance_after: r.imbalanceAfter,
      episode_imbalance_before: r.episodeBefore,
      episode_imbalance_after: r.episodeAfter,
      transfers: r.transfers,
      redeployed: r.redeployed,
      ...(r.certainty ? { certainty: certaintyDocument(r.certainty) } : {}),
    })),
  };
}

/**
 * How sure the plan is that a layer's map is stale, in the plan file: the gain and its standard
 * error, their ratio z, and what they rest on ('held-out' episodes, or 'one-window': the window's
 * counting noise only, silent on how the traffic will change).
 */
function certaintyDocument(c: LayerCertainty): Record<string, unknown> {
  return { stale: c.stale, basis: c.basis, gain: c.gain, se: c.se, z: c.se > 0 ? c.gain / c.se : null };
}
