import { useEffect, useState } from 'preact/hooks';

/** The pages about one deployment, in the order the console's tabs show them. */
export const DEPLOYMENT_PAGES = ['heat', 'proposals', 'maps', 'rollouts', 'agents', 'audit'] as const;
export type DeploymentPage = (typeof DEPLOYMENT_PAGES)[number];

/**
 * The console's pages, from the path under /console (the API answers every such path with the
 * app); `item` names a rollout (rollouts) or a map version (maps) the page opens on.
 */
export type Route = { page: 'fleet' } | { page: DeploymentPage; deployment: string; item?: string };

const BASE = '/console';

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const m = /^\/deployments\/([^/]+)\/([a-z]+)(?:\/([^/]+))?\/?$/.exec(rest);
  if (m && (DEPLOYMENT_PAGES as readonly string[]).includes(m[2])) {
    const route: Route = { page: m[2] as DeploymentPage, deployment: decodeURIComponent(m[1]) };
    return m[3] ? { ...route, item: decodeURIComponent(m[3]) } : route;
  }
  return { page: 'fleet' };
}

export function hrefOf(route: Route): string {
  if (route.page === 'fleet') return `${BASE}/`;
  const item = route.item === undefined ? '' : `/${encodeURIComponent(route.item)}`;
  return `${BASE}/deployments/${encodeURIComponent(route.deployment)}/${route.page}${item}`;
}

/** Moves to a page without reloading: the history entry is the link, so back and reload work. */
export function navigate(route: Route): void {
  window.history.pushState(null, '', hrefOf(route));
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return route;
}
