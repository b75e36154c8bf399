import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ProblemView } from './problem-view';

/**
 * A page whose code is fetched the first time it is opened: every page is a bundle of its own, so
 * the page a tab opens on parses its own code only, not the other pages' (nor ECharts, which the
 * charts fetch when they draw).
 */
export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<ComponentType<P>> | null = null;
  return function LazyPage(props: P) {
    const [Page, setPage] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (Page) return;
      let current = true;
      loading ??= load().then((c) => (loaded = c));
      loading.then(
        (c) => current && setPage(() => c),
        (err: unknown) => {
          // the next visit tries again (a new build was deployed, the network came back)
          loading = null;
          if (current) setError(err);
        },
      );
      return () => {
        current = false;
      };
    }, []);
    if (error) return <ProblemView error={error} />;
    return Page ? <Page {...props} /> : <p class="muted">Loading…</p>;
  };
}
