import type { ApiClient } from '@eplb/api-client';
import { formatDuration } from '../shell/format';
import { LiveBadge } from '../shell/live-badge';
import { Loading } from '../shell/loading';
import { useApi } from '../shell/use-api';
import { useLive } from '../shell/use-live';

/** Per node its agent: connected on the control channel, heard over Kafka only, stale or missing; its ranks and the map versions it holds. */
export function AgentsPage({ api, deployment }: { api: ApiClient; deployment: string }) {
  const live = useLive(api, deployment);
  // agents report over their own channels, not the audit log: re-read on every change and rollout event
  const agents = useApi(() => api.agents(deployment), [api, deployment], live.ticks.audit + live.ticks.rollout);
  return (
    <Loading loaded={agents} what="agents">
      {(a) => {
        return (
          <section>
            <h1>
              Agents <LiveBadge connected={live.connected} />
            </h1>
            <p class="muted">An agent not heard for {formatDuration(a.staleAfterMs)} is stale.</p>
            <table class="grid" data-testid="agents">
              <thead>
                <tr>
                  <th>node</th>
                  <th>status</th>
                  <th>ranks</th>
                  <th>last heard</th>
                  <th>token</th>
                  <th>versions held (layers)</th>
                </tr>
              </thead>
              <tbody>
                {a.agents.map((g) => (
                  <tr key={g.node} data-node={g.node} data-status={g.status} class={`agent-${g.status}`}>
                    <td>{g.node}</td>
                    <td data-field="status">{g.status}</td>
                    <td>{g.ranks.join(', ') || '—'}</td>
                    <td>{g.lastSeen ? `${new Date(g.lastSeen).toLocaleTimeString()} (${formatDuration(g.ageMs ?? 0)} ago)` : 'never'}</td>
                    <td>{g.principal ?? '—'}</td>
                    <td data-field="versions">
                      {g.heldVersions
                        ? Object.entries(g.heldVersions)
                            .map(([v, n]) => `v${v}: ${n}`)
                            .join(', ')
                        : '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        );
      }}
    </Loading>
  );
}
