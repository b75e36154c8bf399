import { useEffect, useRef, useState } from 'preact/hooks';

/** One API read for a page: what it answered, or the problem, or still loading. */
export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; error: unknown };

/**
 * Runs `read` whenever a key changes; an answer to an older key is dropped. A change of `tick`
 * alone (something changed on the server) reads again in the background: the page keeps what it
 * shows until the new answer is in, so live updates do not flash "loading".
 */
export function useApi<T>(read: () => Promise<T>, keys: readonly unknown[], tick = 0): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const lastKeys = useRef<readonly unknown[] | null>(null);
  useEffect(() => {
    let current = true;
    const sameKeys = lastKeys.current !== null && lastKeys.current.length === keys.length && lastKeys.current.every((k, i) => Object.is(k, keys[i]));
    lastKeys.current = keys;
    if (!sameKeys) setLoaded({ state: 'loading' });
    read().then(
      (value) => current && setLoaded({ state: 'ok', value }),
      (error: unknown) => current && setLoaded({ state: 'error', error }),
    );
    return () => {
      current = false;
    };
  }, [...keys, tick]);
  return loaded;
}
