import { describe, expect, it } from 'vitest';
import { hrefOf, parseRoute } from './route';

describe('console routes', () => {
  it('reads the page from the path under /console and writes it back', () => {
    for (const path of ['/console/', '/console/deployments/a%2Fb/heat']) expect(hrefOf(parseRoute(path))).toBe(path);
    expect(parseRoute('/console/deployments/demo/heat')).toEqual({ page: 'heat', deployment: 'demo' });
  });

  it('shows the fleet for any other path', () => {
    expect(parseRoute('/console/nothing/here')).toEqual({ page: 'fleet' });
    expect(parseRoute('/console')).toEqual({ page: 'fleet' });
  });
});
