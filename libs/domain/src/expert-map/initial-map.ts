import { DeploymentShape, numSlots } from '../shape/deployment-shape';

/**
 * The map a deployment starts on when none is imported: slot p holds expert p mod E, the layout
 * engines use before any balancing (experts in order, redundant slots replicating from expert 0).
 * It satisfies the replica rule for every shape with P ≥ E.
 */
export function roundRobinMap(shape: DeploymentShape): number[][] {
  const P = numSlots(shape);
  const row = Array.from({ length: P }, (_, p) => p % shape.numExperts);
  return Array.from({ length: shape.numLayers }, () => row.slice());
}
