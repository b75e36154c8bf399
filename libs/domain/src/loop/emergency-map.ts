import { DeploymentShape } from '../shape/deployment-shape';
import { HeatEpisodes } from '../heat/heat';
import { getPolicy } from '../policy/registry';

/**
 * A map that serves without `lost` ranks: the deployment's policy planned for the live ranks
 * alone (`excludeRanks`: every logical expert keeps a replica on a live rank, with the fewest
 * transfers; the lost ranks' slots keep what they hold, since nothing can reach them). No
 * threshold or minimum gain: losing a rank is reason enough to move. Throws (a DomainError
 * naming the field) when the live ranks have too few slots for every expert.
 */
export function mapAroundLostRanks(shape: DeploymentShape, current: readonly (readonly number[])[], heat: HeatEpisodes, lost: readonly number[], policy: string): number[][] {
  const input = { shape, heat, current: current.map((r) => [...r]), options: { threshold: 0, minGain: 0, excludeRanks: [...lost] } };
  return getPolicy(policy)(input).physicalToLogical;
}
