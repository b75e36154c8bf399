import { ApiClient, ApiProblem } from '@eplb/api-client';
import { shapeFromBody } from '@eplb/contracts';
import type { DeploymentShape } from '@eplb/domain';
import type { CreateShape } from './sim-options';

/** What the simulator needs of a registered deployment: its shape and latest map version. */
export interface DeploymentInfo {
  readonly id: string;
  readonly shape: DeploymentShape;
  readonly mapVersion: number;
}

/** The deployment as the API knows it; null when it is not registered. */
export async function findDeployment(api: ApiClient, id: string): Promise<DeploymentInfo | null> {
  try {
    const d = await api.getDeployment(id);
    return { id: d.id, shape: shapeFromBody(d.shape), mapVersion: d.mapVersion };
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 404) return null;
    throw err;
  }
}

const SHAPE_KEYS = ['numLayers', 'numExperts', 'numRanks', 'slotsPerRank', 'numNodes'] as const;

/**
 * Registers the deployment (`--create`); one already registered with the same shape is taken as
 * is, so a simulator restarted with the same command line carries on.
 */
export async function registerDeployment(api: ApiClient, id: string, shape: CreateShape): Promise<{ deployment: DeploymentInfo; created: boolean }> {
  try {
    const d = await api.createDeployment({ id, shape });
    return { deployment: { id: d.id, shape: shapeFromBody(d.shape), mapVersion: d.mapVersion }, created: true };
  } catch (err) {
    if (!(err instanceof ApiProblem && err.status === 409)) throw err;
    const existing = await findDeployment(api, id);
    const want = shapeFromBody(shape);
    if (existing && SHAPE_KEYS.every((k) => existing.shape[k] === want[k])) return { deployment: existing, created: false };
    throw new Error(`deployment ${id} exists with another shape: ${err.message}`);
  }
}
