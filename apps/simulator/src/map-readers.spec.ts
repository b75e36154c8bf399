import { describe, expect, it } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { ApiMapReader } from './map-readers';

function api(answers: Record<string, [number, unknown]>): ApiClient {
  const fetchFn = (async (input: string | URL | Request) => {
    const [status, b] = answers[String(input).replace('http://api.test', '')] ?? [404, { title: 'Not found', status: 404, detail: 'deployment d has no map version 9' }];
    return new Response(JSON.stringify(b), { status });
  }) as typeof fetch;
  return new ApiClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchFn });
}

describe('ApiMapReader', () => {
  it('reads committed versions from the rollouts and rows from the map version; null for no such version', async () => {
    const reader = new ApiMapReader(
      api({
        '/v1/deployments/d/rollouts': [200, { committedVersions: [1, 2], rebalancing: false, items: [] }],
        '/v1/deployments/d/maps/2': [200, { version: 2, physicalToLogical: [[0, 1], [1, 0]] }],
      }),
      'd',
    );
    expect(await reader.committedVersions()).toEqual([1, 2]);
    expect(await reader.mapVersion(2)).toEqual([[0, 1], [1, 0]]);
    expect(await reader.mapVersion(9)).toBeNull();
  });

  it('says when the API has no map-version endpoint at all (Nest\'s own 404)', async () => {
    const reader = new ApiMapReader(api({ '/v1/deployments/d/maps/1': [404, { title: 'Not found', status: 404, detail: 'Cannot GET /v1/deployments/d/maps/1' }] }), 'd');
    await expect(reader.mapVersion(1)).rejects.toThrow('the API at http://api.test has no GET /v1/deployments/{id}/maps/{version}; use --map-source db');
  });
});
