import type { DeploymentShape } from '@eplb/domain';
import type { CreateShape } from './args';

/** What the simulator needs of `GET /v1/deployments/:id` (apps/api DeploymentResponse). */
export interface DeploymentInfo {
  readonly id: string;
  readonly shape: DeploymentShape;
  readonly mapVersion: number;
}

interface DeploymentResponseBody {
  id: string;
  shape: { layers: number; experts: number; ranks: number; slotsPerRank: number; nodes: number; groups: number | null };
  mapVersion: number;
}

export const toShape = (s: CreateShape | DeploymentResponseBody['shape']): DeploymentShape => ({
  numLayers: s.layers,
  numExperts: s.experts,
  numRanks: s.ranks,
  slotsPerRank: s.slotsPerRank,
  numNodes: s.nodes,
  ...(s.groups != null ? { numGroups: s.groups } : {}),
});

export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  async getDeployment(id: string): Promise<DeploymentInfo | null> {
    const res = await this.request('GET', `/v1/deployments/${encodeURIComponent(id)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw new Error(`GET deployment ${id}: ${await problem(res)}`);
    return info((await res.json()) as DeploymentResponseBody);
  }

  /** Registers the deployment; an existing one with the same shape is accepted as is. */
  async createDeployment(id: string, shape: CreateShape): Promise<{ deployment: DeploymentInfo; created: boolean }> {
    const res = await this.request('POST', '/v1/deployments', { id, shape });
    if (res.status === 201) return { deployment: info((await res.json()) as DeploymentResponseBody), created: true };
    const reason = await problem(res);
    if (res.status === 409) {
      const existing = await this.getDeployment(id);
      const want = toShape(shape);
      if (existing && (['numLayers', 'numExperts', 'numRanks', 'slotsPerRank', 'numNodes'] as const).every((k) => existing.shape[k] === want[k])) {
        return { deployment: existing, created: false };
      }
      throw new Error(`deployment ${id} exists with another shape: ${reason}`);
    }
    throw new Error(`POST deployment ${id}: ${reason}`);
  }

  /** Per layer the version every rank committed (`GET .../rollouts`, the rollouts read model). */
  async committedVersions(id: string): Promise<number[]> {
    const res = await this.request('GET', `/v1/deployments/${encodeURIComponent(id)}/rollouts`);
    if (res.status !== 200) throw new Error(`GET rollouts of ${id}: ${await problem(res)}`);
    const body = (await res.json()) as { committedVersions?: unknown };
    if (!Array.isArray(body.committedVersions) || !body.committedVersions.every((v) => Number.isInteger(v) && v > 0)) {
      throw new Error(`GET rollouts of ${id}: no committedVersions in the answer`);
    }
    return body.committedVersions as number[];
  }

  /** The rows of a map version (`GET .../maps/{version}`, physical_to_logical); null when the deployment has no such version. */
  async mapVersion(id: string, version: number): Promise<number[][] | null> {
    const res = await this.request('GET', `/v1/deployments/${encodeURIComponent(id)}/maps/${version}`);
    if (res.status === 404) {
      const reason = await problem(res);
      // Nest's own 404 for an unknown route: the API predates the endpoint
      if (/Cannot GET/.test(reason)) throw new Error(`the API at ${this.base} has no GET /v1/deployments/{id}/maps/{version}; use --map-source db`);
      return null;
    }
    if (res.status !== 200) throw new Error(`GET map version ${version} of ${id}: ${await problem(res)}`);
    const body = (await res.json()) as { physicalToLogical?: unknown; physical_to_logical?: unknown };
    const rows = body.physicalToLogical ?? body.physical_to_logical;
    if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r))) throw new Error(`GET map version ${version} of ${id}: no physicalToLogical in the answer`);
    return rows as number[][];
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await this.fetchFn(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          'x-eplb-reason': 'simulator',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new Error(`API at ${this.base} unreachable: ${(err as Error).message}`);
    }
  }
}

const info = (b: DeploymentResponseBody): DeploymentInfo => ({ id: b.id, shape: toShape(b.shape), mapVersion: b.mapVersion });

async function problem(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { title?: string; detail?: string; errors?: { field?: string; message?: string }[] };
    const errs = p.errors?.map((e) => `${e.field ?? ''}: ${e.message ?? ''}`).join('; ');
    return `${res.status} ${p.detail ?? p.title ?? ''}${errs ? ` (${errs})` : ''}`.trim();
  } catch {
    return `${res.status} ${text.slice(0, 200)}`;
  }
}
