import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_PAGES, hrefOf, parseRoute } from './route';

describe('console routes', () => {
  it('reads the page from the path under /console and writes it back', () => {
    for (const path of ['/console/', '/console/deployments/a%2Fb/heat', '/console/deployments/demo/rollouts/3f2a', '/console/deployments/demo/maps/4']) expect(hrefOf(parseRoute(path))).toBe(path);
    expect(parseRoute('/console/deployments/demo/heat')).toEqual({ page: 'heat', deployment: 'demo' });
    expect(parseRoute('/console/deployments/demo/rollouts/r-1')).toEqual({ page: 'rollouts', deployment: 'demo', item: 'r-1' });
    for (const page of DEPLOYMENT_PAGES) expect(parseRoute(`/console/deployments/d/${page}`)).toEqual({ page, deployment: 'd' });
  });

  it('shows the fleet for any other path', () => {
    expect(parseRoute('/console/nothing/here')).toEqual({ page: 'fleet' });
    expect(parseRoute('/console/deployments/demo/nothing')).toEqual({ page: 'fleet' });
    expect(parseRoute('/console')).toEqual({ page: 'fleet' });
  });
});
