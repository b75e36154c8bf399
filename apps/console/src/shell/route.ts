import { useEffect, useState } from 'preact/hooks';

/** The console's pages, from the path under /console (the API answers every such path with the app). */
export type Route = { page: 'fleet' } | { page: 'heat'; deployment: string };

const BASE = '/console';

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const heat = /^\/deployments\/([^/]+)\/heat\/?$/.exec(rest);
  if (heat) return { page: 'heat', deployment: decodeURIComponent(heat[1]) };
  return { page: 'fleet' };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'fleet':
      return `${BASE}/`;
    case 'heat':
      return `${BASE}/deployments/${encodeURIComponent(route.deployment)}/heat`;
  }
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
