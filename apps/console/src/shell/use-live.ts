import type { ApiClient } from '@eplb/api-client';
import type { LiveKind } from '@eplb/contracts';
import { useEffect, useState } from 'preact/hooks';

/** Per kind of change, how many the page has been told of (a key for useApi's `tick`), and whether the stream is up. */
export interface Live {
  readonly ticks: Readonly<Record<LiveKind, number>>;
  readonly connected: boolean;
}

const RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

/**
 * Follows the deployment's live changes (`GET .../live`, server-sent events) while the page is
 * open, reconnecting with a growing wait when the stream ends or fails. The first message of each
 * kind says where a stream starts: on the first connection the page has just read everything, so
 * it counts nothing; after a reconnect, a start beyond what was last seen is a change missed.
 */
export function useLive(api: ApiClient, deployment: string, phase: 'decode' | 'prefill' | 'mixed' = 'decode'): Live {
  const [ticks, setTicks] = useState<Record<LiveKind, number>>({ rollout: 0, heat: 0, audit: 0 });
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const ctl = new AbortController();
    const seen = new Map<LiveKind, string>();
    const bump = (kind: LiveKind) => setTicks((t) => ({ ...t, [kind]: t[kind] + 1 }));
    void (async () => {
      let wait = RETRY_MS;
      while (!ctl.signal.aborted) {
        try {
          for await (const c of api.live(deployment, { phase }, ctl.signal)) {
            setConnected(true);
            wait = RETRY_MS;
            const before = seen.get(c.kind);
            seen.set(c.kind, c.cursor);
            if (c.types.length > 0 || (before !== undefined && before !== c.cursor)) bump(c.kind);
          }
        } catch {
          // refused or unreachable: the pages show the API's problem on their own reads; try again later
        }
        setConnected(false);
        if (ctl.signal.aborted) return;
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, MAX_RETRY_MS);
      }
    })();
    return () => ctl.abort();
  }, [api, deployment, phase]);
  return { ticks, connected };
}
