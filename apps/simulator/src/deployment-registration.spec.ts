import { describe, expect, it } from 'vitest';
import { ApiClient, ApiProblem } from '@eplb/api-client';
import { findDeployment, registerDeployment } from './deployment-registration';

const body = (shape: Record<string, unknown>) => ({ id: 'sim-a', shape: { groups: null, ...shape }, mapVersion: 3 });
const SHAPE = { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 };

/** An ApiClient over a fetch answering `METHOD path` from a table (status, body). */
function api(answers: Record<string, [number, unknown]>): ApiClient {
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const [status, b] = answers[`${init?.method ?? 'GET'} ${String(input).replace('http://api.test', '')}`] ?? [404, { title: 'Not found', status: 404, detail: 'nothing here' }];
    return new Response(JSON.stringify(b), { status });
  }) as typeof fetch;
  return new ApiClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchFn });
}

describe('simulator deployment registration', () => {
  it('reads the deployment as the domain shape; null when it is not registered', async () => {
    const a = api({ 'GET /v1/deployments/sim-a': [200, body({ ...SHAPE, groups: 2 })] });
    expect(await findDeployment(a, 'sim-a')).toEqual({ id: 'sim-a', mapVersion: 3, shape: { numLayers: 2, numExperts: 4, numRanks: 2, slotsPerRank: 3, numNodes: 1, numGroups: 2 } });
    expect(await findDeployment(a, 'other')).toBeNull();
  });

  it('registers, or takes a deployment already registered with the same shape', async () => {
    expect(await registerDeployment(api({ 'POST /v1/deployments': [201, body(SHAPE)] }), 'sim-a', SHAPE)).toMatchObject({ created: true, deployment: { mapVersion: 3 } });
    const exists = { 'POST /v1/deployments': [409, { title: 'Conflict', status: 409, detail: 'deployment sim-a exists' }] as [number, unknown] };
    const same = api({ ...exists, 'GET /v1/deployments/sim-a': [200, body(SHAPE)] });
    expect(await registerDeployment(same, 'sim-a', SHAPE)).toMatchObject({ created: false, deployment: { shape: { numLayers: 2 } } });
    const other = api({ ...exists, 'GET /v1/deployments/sim-a': [200, body({ ...SHAPE, layers: 8 })] });
    await expect(registerDeployment(other, 'sim-a', SHAPE)).rejects.toThrow('deployment sim-a exists with another shape: 409 Conflict: deployment sim-a exists');
    const refused = api({ 'POST /v1/deployments': [400, { title: 'Invalid request', status: 400, detail: 'shape.layers: too big' }] });
    await expect(registerDeployment(refused, 'sim-a', SHAPE)).rejects.toBeInstanceOf(ApiProblem);
  });
});
