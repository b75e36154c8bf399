import type { ApiClient } from '@eplb/api-client';
import type { RolloutListItemWithOutcome } from '@eplb/contracts';
import { Link } from '../shell/link';
import { ProblemView } from '../shell/problem-view';
import { useApi } from '../shell/use-api';
import { fleetRow, FleetRow, listAllDeployments } from './fleet-summary';
import { Sparkline } from './sparkline';

/** Every deployment at a glance: mode, imbalance now and over the last hour, rebalancing or not, agents, the last rollout and its gain. */
export function FleetPage({ api }: { api: ApiClient }) {
  const deployments = useApi(() => listAllDeployments(api), [api]);
  return (
    <section>
      <h1>Fleet</h1>
      {deployments.state === 'loading' ? <p class="muted">Loading deployments…</p> : null}
      {deployments.state === 'error' ? <ProblemView error={deployments.error} /> : null}
      {deployments.state === 'ok' && deployments.value.length === 0 ? <p class="muted">No deployments yet.</p> : null}
      {deployments.state === 'ok' && deployments.value.length > 0 ? (
        <div class="table-wrap">
          <table class="fleet" data-testid="fleet">
            <thead>
              <tr>
                <th>deployment</th>
                <th>shape</th>
                <th>mode</th>
                <th>imbalance now</th>
                <th>last hour</th>
                <th>rebalancing</th>
                <th>agents</th>
                <th>last rollout</th>
                <th>measured gain</th>
              </tr>
            </thead>
            <tbody>
              {deployments.value.map((d) => (
                <FleetRowView key={d.id} api={api} id={d.id} load={() => fleetRow(api, d)} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function FleetRowView({ api, id, load }: { api: ApiClient; id: string; load: () => Promise<FleetRow> }) {
  const row = useApi(load, [api, id]);
  const name = (
    <td>
      <Link to={{ page: 'heat', deployment: id }} testId={`deployment-${id}`}>
        {id}
      </Link>
    </td>
  );
  if (row.state !== 'ok') {
    return (
      <tr data-deployment={id}>
        {name}
        <td colSpan={8}>{row.state === 'loading' ? <span class="muted">loading…</span> : <ProblemView error={row.error} />}</td>
      </tr>
    );
  }
  const { deployment: d, imbalanceNow, worstLayer, trend, rebalancing, agents, lastRollout } = row.value;
  return (
    <tr data-deployment={id}>
      {name}
      <td>
        {d.shape.layers} × {d.shape.experts}, {d.shape.ranks} ranks
      </td>
      <td data-field="mode">{d.settings.mode}</td>
      <td data-field="imbalance">
        {imbalanceNow === null ? (
          <span class="muted">no heat in the last hour</span>
        ) : (
          <>
            {imbalanceNow.toFixed(3)}
            {worstLayer ? <span class="muted"> (worst: layer {worstLayer.layer}, {worstLayer.imbalance.toFixed(3)})</span> : null}
          </>
        )}
      </td>
      <td data-field="trend">
        <Sparkline values={trend} />
      </td>
      <td data-field="rebalancing">{rebalancing ? <strong>rebalancing</strong> : 'no'}</td>
      <td data-field="agents">
        {agents.healthy}/{agents.total} healthy
      </td>
      <td data-field="last-rollout">{lastRollout ? `v${lastRollout.mapVersion} ${lastRollout.status}` : <span class="muted">none</span>}</td>
      <td data-field="gain">{gainText(lastRollout)}</td>
    </tr>
  );
}

function gainText(r: RolloutListItemWithOutcome | null): string {
  if (!r) return '—';
  if (!r.outcome) return 'pending';
  const m = r.outcome.measured;
  if (!m) return `n/a (${r.outcome.why ?? 'not measurable'})`;
  return `${m.before.imbalance.toFixed(3)} → ${m.after.imbalance.toFixed(3)} (${m.gain >= 0 ? '−' : '+'}${Math.abs(m.gain).toFixed(3)})`;
}
