import type { ApiClient } from '@eplb/api-client';
import type { RolloutControlAction, RolloutListItemWithOutcome } from '@eplb/contracts';
import { useState } from 'preact/hooks';
import { formatBytes, formatDuration } from '../shell/format';
import { Link } from '../shell/link';
import { LiveBadge } from '../shell/live-badge';
import { navigate } from '../shell/route';
import { ReasonedAction } from '../shell/reasoned-action';
import { Loading } from '../shell/loading';
import { useApi } from '../shell/use-api';
import { useLive } from '../shell/use-live';
import { outcomeCells } from './outcome-cells';
import { actionsFor, RolloutAction } from './rollout-actions';
import { TimelineChart } from './timeline-chart';

/** The deployment's rollouts, newest first; one opened on its timeline, live, with the operator's controls. */
export function RolloutsPage({ api, deployment, rolloutId, canAct }: { api: ApiClient; deployment: string; rolloutId?: string; canAct: boolean }) {
  const live = useLive(api, deployment);
  const list = useApi(() => api.listRollouts(deployment), [api, deployment], live.ticks.rollout);
  return (
    <Loading loaded={list} what="rollouts">
      {(listed) => {
        const items = [...listed.items].reverse();
        const selected = rolloutId ?? items[0]?.rolloutId;
        return (
          <section>
            <h1>
              Rollouts <LiveBadge connected={live.connected} />
            </h1>
            <p class="muted">
              Layers committed on versions {[...new Set(listed.committedVersions)].join(', ') || '—'}; {listed.rebalancing ? <strong>rebalancing now</strong> : 'not rebalancing'}.
            </p>
            {items.length === 0 ? <p class="muted">No rollouts yet.</p> : <RolloutList deployment={deployment} items={items} selected={selected} />}
            {selected ? <RolloutDetailView key={selected} api={api} deployment={deployment} rolloutId={selected} canAct={canAct} tick={live.ticks.rollout} /> : null}
          </section>
        );
      }}
    </Loading>
  );
}

function RolloutList({ deployment, items, selected }: { deployment: string; items: RolloutListItemWithOutcome[]; selected?: string }) {
  return (
    <div class="table-wrap">
      <table class="grid" data-testid="rollouts">
        <thead>
          <tr>
            <th>rollout</th>
            <th>version</th>
            <th>status</th>
            <th>by</th>
            <th>why</th>
            <th>requested</th>
            <th>measured</th>
            <th title="The interval after's own heat under the map the rollout found → under the map it left (modelled): what the rollout changed with the traffic held fixed">same heat</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => {
            const outcome = outcomeCells(r.outcome);
            return (
              <tr key={r.rolloutId} data-rollout={r.rolloutId} data-status={r.status} class={r.rolloutId === selected ? 'selected' : ''}>
                <td>
                  <Link to={{ page: 'rollouts', deployment, item: r.rolloutId }} testId={`rollout-${r.rolloutId}`}>
                    {r.rolloutId.slice(0, 8)}
                  </Link>
                </td>
                <td>
                  {r.fromVersion !== null ? `v${r.fromVersion} → ` : ''}v{r.mapVersion}
                </td>
                <td>{r.status}</td>
                <td>{r.requestedBy}</td>
                <td class="wrap">{r.rejected ?? r.reason}</td>
                <td>{r.requestedAt ? new Date(r.requestedAt).toLocaleString() : '—'}</td>
                <td>{outcome.measured}</td>
                <td>{outcome.sameHeat}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function RolloutDetailView({ api, deployment, rolloutId, canAct, tick }: { api: ApiClient; deployment: string; rolloutId: string; canAct: boolean; tick: number }) {
  const [refresh, setRefresh] = useState(0);
  const data = useApi(() => Promise.all([api.getRollout(deployment, rolloutId), api.rolloutTimeline(deployment, rolloutId)]), [api, deployment, rolloutId], tick + refresh);
  return (
    <Loading loaded={data} what="the rollout">
      {([r, t]) => {
        const done = (t.lastEventMs ?? 0) - (t.startedMs ?? 0);
        return (
          <section class="panel" data-testid="rollout-detail" data-rollout={rolloutId} data-status={r.status}>
            <h2>
              Rollout {rolloutId.slice(0, 8)}: <span data-testid="rollout-status">{r.status}</span>
            </h2>
            <p>
              {r.fromVersion !== undefined ? `v${r.fromVersion} → ` : ''}v{r.mapVersion}, requested by {r.requestedBy}: {r.reason}
              {r.rejected ? ` — rejected: ${r.rejected}` : ''}
              {r.failure ? ` — failed: ${r.failure.reason}` : ''}
              {r.promoted ? ' — promoted past its gates' : ''}
            </p>
            <p data-testid="rollout-bytes">
              {t.layers.length} layers, {t.layers.reduce((s, l) => s + l.transfers, 0)} transfers; bytes moved <strong>{formatBytes(t.bytesMoved)}</strong> of {formatBytes(t.bytesPlanned)} planned
              {t.startedMs !== null ? `, ${formatDuration(done)} from start to the newest event` : ''}.
            </p>
            <TimelineChart timeline={t} />
            {t.batches.length ? (
              <table class="grid compact" data-testid="batches">
                <thead>
                  <tr>
                    <th>batch</th>
                    <th>layers</th>
                    <th>gate</th>
                    <th>verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {t.batches.map((b) => (
                    <tr key={b.index} data-batch={b.index}>
                      <td>{b.index}</td>
                      <td>{b.layers.join(', ')}</td>
                      <td>{b.analysis ? (b.gate ? `asked after ${formatDuration(b.gate.requestedMs - (t.startedMs ?? 0))}` : 'not yet') : 'none'}</td>
                      <td class="wrap">{b.gate?.verdictMs ? `${b.gate.passed ? 'passed' : 'failed'}${b.gate.detail ? `: ${b.gate.detail}` : ''}` : b.analysis ? 'pending' : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            <table class="grid compact" data-testid="rollout-layers">
              <thead>
                <tr>
                  <th>layer</th>
                  <th>status</th>
                  <th>version</th>
                  <th>transfers</th>
                  <th>bytes</th>
                </tr>
              </thead>
              <tbody>
                {r.layers.map((l) => {
                  const plan = t.layers.find((p) => p.layer === l.layer);
                  return (
                    <tr key={l.layer} data-layer={l.layer} data-status={l.status}>
                      <td>{l.layer}</td>
                      <td>
                        {l.status}
                        {l.verifyError ? ` (${l.verifyError})` : ''}
                      </td>
                      <td>{l.version ?? 'committing'}</td>
                      <td>{plan?.transfers ?? '—'}</td>
                      <td>{plan ? formatBytes(plan.bytes) : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {t.operator.length ? (
              <ul class="muted">
                {t.operator.map((o, i) => (
                  <li key={i}>
                    {o.action} by {o.actor ?? '?'} at {new Date(o.atMs).toLocaleTimeString()}
                    {o.reason ? `: ${o.reason}` : ''}
                  </li>
                ))}
              </ul>
            ) : null}
            {canAct ? <Controls api={api} deployment={deployment} rolloutId={rolloutId} actions={actionsFor(r.status, r.fromVersion)} fromVersion={r.fromVersion} onDone={() => setRefresh((n) => n + 1)} /> : null}
          </section>
        );
      }}
    </Loading>
  );
}

function Controls({ api, deployment, rolloutId, actions, fromVersion, onDone }: { api: ApiClient; deployment: string; rolloutId: string; actions: RolloutAction[]; fromVersion?: number; onDone: () => void }) {
  if (actions.length === 0) return null;
  return (
    <div class="actions" data-testid="rollout-controls">
      {actions.map((a) =>
        a === 'undo' ? (
          <ReasonedAction
            key={a}
            label={`Undo (roll v${fromVersion} out again)`}
            testId="rollout-undo"
            run={async (reason) => {
              const started = await api.startRollout(deployment, { mapVersion: fromVersion!, reason });
              navigate({ page: 'rollouts', deployment, item: started.rolloutId });
            }}
          />
        ) : (
          <ReasonedAction key={a} label={a[0].toUpperCase() + a.slice(1)} testId={`rollout-${a}`} danger={a === 'abort'} run={(reason) => api.controlRollout(deployment, rolloutId, a as RolloutControlAction, { reason })} onDone={onDone} />
        ),
      )}
    </div>
  );
}
