import type { ApiClient } from '@eplb/api-client';
import type { PolicyRunResponse } from '@eplb/contracts';
import { useState } from 'preact/hooks';
import { formatDuration } from '../shell/format';
import { Link } from '../shell/link';
import { LiveBadge } from '../shell/live-badge';
import { Loading } from '../shell/loading';
import { ReasonedAction } from '../shell/reasoned-action';
import { useApi } from '../shell/use-api';
import { useLive } from '../shell/use-live';
import { LayerFiguresTable } from './layer-figures-table';
import { runFigures } from './run-figures';
import { WhatIfForm } from './what-if-form';

const RUNS_SHOWN = 50;

/** The policy's runs, newest first, with status and reason; one opened with its figures and, for an operator, approve or reject. */
export function ProposalsPage({ api, deployment, runId, canAct }: { api: ApiClient; deployment: string; runId?: string; canAct: boolean }) {
  const live = useLive(api, deployment);
  const runs = useApi(() => Promise.all([api.listRuns(deployment, { limit: RUNS_SHOWN }), api.getDeployment(deployment)]), [api, deployment], live.ticks.audit);
  return (
    <section>
      <h1>
        Proposals <LiveBadge connected={live.connected} />
      </h1>
      <Loading loaded={runs} what="runs">
        {([list, settings]) => (
          <>
            <RunList deployment={deployment} runs={list.items} selected={runId} />
            {runId ? <RunDetail key={runId} api={api} deployment={deployment} runId={runId} canAct={canAct} tick={live.ticks.audit} /> : null}
            <WhatIfForm api={api} deployment={deployment} defaultPolicy={settings.settings.policy} latestVersion={settings.mapVersion} />
          </>
        )}
      </Loading>
    </section>
  );
}

function RunList({ deployment, runs, selected }: { deployment: string; runs: PolicyRunResponse[]; selected?: string }) {
  if (runs.length === 0) return <p class="muted">No policy runs yet.</p>;
  return (
    <div class="table-wrap">
      <table class="grid" data-testid="runs">
        <thead>
          <tr>
            <th>when</th>
            <th>status</th>
            <th>reason</th>
            <th>policy</th>
            <th>interval</th>
            <th>base map</th>
            <th>decision</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run={r.id} data-status={r.status} class={r.id === selected ? 'selected' : ''}>
              <td>
                <Link to={{ page: 'proposals', deployment, item: r.id }} testId={`run-${r.id}`}>
                  {new Date(r.createdAt).toLocaleString()}
                </Link>
              </td>
              <td>{r.status}</td>
              <td class="wrap">{r.reason}</td>
              <td>
                {r.policy} ({r.phase})
              </td>
              <td>{r.interval}</td>
              <td>v{r.baseMapVersion}</td>
              <td data-field="decision">{r.decision ? `${r.decision.decision}${r.decision.mapVersion ? ` → v${r.decision.mapVersion}` : ''} by ${r.decision.by ?? '?'}` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RunDetail({ api, deployment, runId, canAct, tick }: { api: ApiClient; deployment: string; runId: string; canAct: boolean; tick: number }) {
  const [refresh, setRefresh] = useState(0);
  const run = useApi(() => api.getRun(deployment, runId), [api, deployment, runId], tick + refresh);
  const [deploy, setDeploy] = useState(true);
  const [outcome, setOutcome] = useState<{ mapVersion: number; rolloutId: string | null } | null>(null);
  return (
    <Loading loaded={run} what="the run">
      {(r) => {
        const f = runFigures(r.figures);
        const open = r.status === 'proposed' && !r.decision;
        return (
          <section class="panel" data-testid="run-detail" data-run={r.id}>
            <h2>
              Run {r.id.slice(0, 8)}: {r.status}
            </h2>
            <p>{r.reason}</p>
            <p class="muted">
              {r.policy} on {r.phase} interval {r.interval} against map v{r.baseMapVersion}, planned in {formatDuration(r.runMs)}.
              {f.currentMean !== null && f.candidateMean !== null ? ` Mean imbalance ${f.currentMean.toFixed(3)} now → ${f.candidateMean.toFixed(3)} projected.` : ''}
            </p>
            {r.decision ? (
              <p data-testid="run-decision">
                {r.decision.decision} by {r.decision.by ?? '?'} {r.decision.at ? `at ${new Date(r.decision.at).toLocaleString()}` : ''}
                {r.decision.reason ? `: ${r.decision.reason}` : ''}
                {r.decision.mapVersion ? (
                  <>
                    {' '}
                    — <Link to={{ page: 'maps', deployment, item: String(r.decision.mapVersion) }}>map version {r.decision.mapVersion}</Link>
                  </>
                ) : null}
              </p>
            ) : null}
            {f.layers.length ? <LayerFiguresTable layers={f.layers} transfers={f.transfers} bytes={f.bytes} testId="run-layers" /> : null}
            {outcome ? (
              <p data-testid="run-outcome">
                Approved as map version {outcome.mapVersion}
                {outcome.rolloutId ? (
                  <>
                    ; its rollout:{' '}
                    <Link to={{ page: 'rollouts', deployment, item: outcome.rolloutId }} testId="run-rollout">
                      {outcome.rolloutId}
                    </Link>
                  </>
                ) : null}
                .
              </p>
            ) : null}
            {canAct && open ? (
              <div class="actions">
                <ReasonedAction
                  label={deploy ? 'Approve and deploy' : 'Approve'}
                  testId="approve"
                  run={async (reason) => {
                    const a = await api.approveRun(deployment, runId, reason, { deploy });
                    setOutcome({ mapVersion: a.mapVersion, rolloutId: a.rollout?.rolloutId ?? null });
                    return a;
                  }}
                  onDone={() => setRefresh((n) => n + 1)}
                >
                  <label>
                    <input type="checkbox" data-testid="approve-deploy" checked={deploy} onChange={(e) => setDeploy(e.currentTarget.checked)} /> deploy now
                  </label>
                </ReasonedAction>
                <ReasonedAction label="Reject" testId="reject" danger run={(reason) => api.rejectRun(deployment, runId, reason)} onDone={() => setRefresh((n) => n + 1)} />
              </div>
            ) : null}
          </section>
        );
      }}
    </Loading>
  );
}
