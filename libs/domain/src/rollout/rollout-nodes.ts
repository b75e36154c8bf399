import { DeploymentShape } from '../shape/deployment-shape';

type Rows = readonly (ArrayLike<number>)[];

/**
 * The nodes a rollout from `current` to `target` needs (their agents must answer): every node as
 * soon as one layer changes — each agent stages its part of a changed layer and all ranks commit it
 * together (a layer is on one version on all ranks, and every rank's routing changes with it); none
 * when nothing changes.
 */
export function rolloutNodes(shape: DeploymentShape, current: Rows, target: Rows): number[] {
  const changed = current.some((row, l) => {
    const t = target[l];
    if (!t || t.length !== row.length) return true;
    for (let p = 0; p < row.length; p++) if (row[p] !== t[p]) return true;
    return false;
  });
  return changed ? Array.from({ length: shape.numNodes }, (_, n) => n) : [];
}
