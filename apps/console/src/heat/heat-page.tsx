import type { ApiClient } from '@eplb/api-client';
import type { LayersHeatmap, TopExpertsResponse } from '@eplb/contracts';
import { useMemo, useState } from 'preact/hooks';
import { Link } from '../shell/link';
import { ProblemView } from '../shell/problem-view';
import { useApi } from '../shell/use-api';
import { HeatmapCanvas } from './heatmap-chart';
import { hottestCell } from './hottest-cell';
import { Phase, PHASES, RangeId, RANGES, rangeQuery } from './time-range';

const TOP_K = 10;

/** One deployment's heat over a range and phase: the layers × experts heatmap, its hottest cell, the top-k experts. */
export function HeatPage({ api, deployment }: { api: ApiClient; deployment: string }) {
  const [range, setRange] = useState<RangeId>('1h');
  const [phase, setPhase] = useState<Phase>('decode');
  const heat = useApi(async (): Promise<{ map: LayersHeatmap; top: TopExpertsResponse }> => {
    const q = rangeQuery(range, phase);
    const [map, top] = await Promise.all([api.heatmap(deployment, q), api.topExperts(deployment, { ...q, k: TOP_K })]);
    return { map, top };
  }, [api, deployment, range, phase]);

  return (
    <section>
      <p>
        <Link to={{ page: 'fleet' }}>← Fleet</Link>
      </p>
      <h1>
        Heat of <span data-testid="heat-deployment">{deployment}</span>
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          range{' '}
          <select data-testid="range" value={range} onChange={(e) => setRange(e.currentTarget.value as RangeId)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          phase{' '}
          <select data-testid="phase" value={phase} onChange={(e) => setPhase(e.currentTarget.value as Phase)}>
            {PHASES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      </form>
      {heat.state === 'loading' ? <p class="muted">Loading heat…</p> : null}
      {heat.state === 'error' ? <ProblemView error={heat.error} /> : null}
      {heat.state === 'ok' ? <HeatView map={heat.value.map} top={heat.value.top} /> : null}
    </section>
  );
}

function HeatView({ map, top }: { map: LayersHeatmap; top: TopExpertsResponse }) {
  const hottest = useMemo(() => hottestCell(map.counts), [map]);
  if (!hottest) return <p class="muted" data-testid="no-heat">No heat stored for this range and phase.</p>;
  return (
    <>
      <p data-testid="hottest" data-layer={hottest.layer} data-expert={hottest.expert} data-count={hottest.count}>
        Hottest cell: <strong>layer {hottest.layer}, expert {hottest.expert}</strong> — {hottest.count} tokens ({map.resolution} resolution, {new Date(map.from).toLocaleString()} to{' '}
        {new Date(map.to).toLocaleString()})
      </p>
      <HeatmapCanvas counts={map.counts} />
      <h2>Top {top.items.length} hot experts</h2>
      <ol class="top" data-testid="top">
        {top.items.map((h) => (
          <li key={`${h.layer}:${h.expert}`} data-layer={h.layer} data-expert={h.expert}>
            layer {h.layer}, expert {h.expert}: {h.count} tokens, {(h.share * 100).toFixed(1)}% of the layer
          </li>
        ))}
      </ol>
    </>
  );
}
