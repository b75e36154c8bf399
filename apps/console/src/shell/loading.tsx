import type { ComponentChildren } from 'preact';
import { ProblemView } from './problem-view';
import type { Loaded } from './use-api';

/**
 * What a page shows for one API read: "Loading `what`…" while it is out, the API's problem if it
 * failed, and what `children` make of the answer once it is in.
 */
export function Loading<T>({ loaded, what, children }: { loaded: Loaded<T>; what: string; children: (value: T) => ComponentChildren }) {
  if (loaded.state === 'loading') return <p class="muted">Loading {what}…</p>;
  if (loaded.state === 'error') return <ProblemView error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}
