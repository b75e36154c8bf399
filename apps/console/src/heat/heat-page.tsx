import type { ApiClient } from '@eplb/api-client';
import type { LayersHeatmap, TopExpertsResponse } from '@eplb/contracts';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { saveText } from '../shell/download';
import { LiveBadge } from '../shell/live-badge';
import { Loading } from '../shell/loading';
import { ProblemView } from '../shell/problem-view';
import { Loaded, useApi } from '../shell/use-api';
import { useLive } from '../shell/use-live';
import { HeatmapCanvas } from './heatmap-chart';
import { hottestCell } from './hottest-cell';
import { ImbalanceByLayerView } from './imbalance-by-layer-view';
import { LayerTimeView } from './layer-time-view';
import { PhaseSelect, RangeSelect } from './range-select';
import { RankLoadView } from './rank-load-view';
import { Phase, PHASES, RangeId, RANGES, rangeQuery } from './time-range';

const TOP_K = 10;

/**
 * One deployment's heat over a range and phase: the layers × experts heatmap and its hottest cell
 * first (what the page is opened for), then per-rank load under the map in service, one layer
 * over time, the imbalance trend per layer, the top-k experts and the exports. New episodes
 * re-read it (live).
 */
export function HeatPage({ api, deployment }: { api: ApiClient; deployment: string }) {
  // the range and phase are in the address (?range=24h&phase=prefill): a view can be shared, and reload keeps it
  const [range, setRange] = useState<RangeId>(() => fromSearch('range', RANGES.map((r) => r.id), '1h'));
  const [phase, setPhase] = useState<Phase>(() => fromSearch('phase', PHASES, 'decode'));
  useEffect(() => {
    const url = new URL(window.location.href);
    url.searchParams.set('range', range);
    url.searchParams.set('phase', phase);
    window.history.replaceState(null, '', url);
  }, [range, phase]);
  const live = useLive(api, deployment, phase);
  // one [from, to) per read: the sections of a page show the same span
  const q = useMemo(() => rangeQuery(range, phase), [range, phase, live.ticks.heat]);
  // two reads, not one: the heatmap (and its hottest cell) is drawn as soon as it is in, without
  // waiting for the API to rank the top-k, which takes it longer
  const heat = useApi(() => api.heatmap(deployment, q), [api, deployment, range, phase], live.ticks.heat);
  const top = useApi(() => api.topExperts(deployment, { ...q, k: TOP_K }), [api, deployment, range, phase], live.ticks.heat);

  return (
    <section>
      <h1>
        Heat of <span data-testid="heat-deployment">{deployment}</span> <LiveBadge connected={live.connected} />
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <RangeSelect value={range} onChange={setRange} testId="range" />
        <PhaseSelect value={phase} onChange={setPhase} testId="phase" />
        <Exports api={api} deployment={deployment} q={q} />
      </form>
      <Loading loaded={heat} what="heat">
        {(map) => <HeatView api={api} deployment={deployment} map={map} top={top} q={q} tick={live.ticks.heat} />}
      </Loading>
    </section>
  );
}

function fromSearch<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = new URLSearchParams(window.location.search).get(name);
  return (allowed as readonly string[]).includes(v ?? '') ? (v as T) : fallback;
}

function Exports({ api, deployment, q }: { api: ApiClient; deployment: string; q: { phase: Phase; from: string; to: string } }) {
  const [error, setError] = useState<unknown>(null);
  const save = (read: () => Promise<string>, name: string, type: string) => {
    setError(null);
    read().then((text) => saveText(text, name, type), setError);
  };
  return (
    <span class="exports">
      export{' '}
      <button type="button" class="plain" data-testid="export-csv" onClick={() => save(() => api.heatCsv(deployment, q), `${deployment}-${q.phase}-heat.csv`, 'text/csv')}>
        CSV
      </button>{' '}
      <button
        type="button"
        class="plain"
        data-testid="export-heat-file"
        onClick={() => save(async () => JSON.stringify(await api.heatFile(deployment, q)), `${deployment}-${q.phase}-heat.json`, 'application/json')}
      >
        heat file (eplb plan --input)
      </button>
      {error ? <ProblemView error={error} /> : null}
    </span>
  );
}

function HeatView({ api, deployment, map, top, q, tick }: { api: ApiClient; deployment: string; map: LayersHeatmap; top: Loaded<TopExpertsResponse>; q: { phase: Phase; from: string; to: string }; tick: number }) {
  const hottest = useMemo(() => hottestCell(map.counts), [map]);
  // what the page is opened for comes first: the sections below read and draw once the heatmap is
  // on the canvas, so their requests and charts do not hold up its first paint
  const [drawn, setDrawn] = useState(false);
  if (!hottest) return <p class="muted" data-testid="no-heat">No heat stored for this range and phase.</p>;
  return (
    <>
      <p data-testid="hottest" data-layer={hottest.layer} data-expert={hottest.expert} data-count={hottest.count}>
        Hottest cell: <strong>layer {hottest.layer}, expert {hottest.expert}</strong> — {hottest.count} tokens ({map.resolution} resolution, {new Date(map.from).toLocaleString()} to{' '}
        {new Date(map.to).toLocaleString()})
      </p>
      <HeatmapCanvas counts={map.counts} onDrawn={() => setDrawn(true)} />
      <div class="columns">
        <div>
          <Loading loaded={top} what="the hot experts">
            {({ items }) => (
              <>
                <h2>Top {items.length} hot experts</h2>
                <ol class="top" data-testid="top">
                  {items.map((h) => (
                    <li key={`${h.layer}:${h.expert}`} data-layer={h.layer} data-expert={h.expert}>
                      layer {h.layer}, expert {h.expert}: {h.count} tokens, {(h.share * 100).toFixed(1)}% of the layer
                    </li>
                  ))}
                </ol>
              </>
            )}
          </Loading>
        </div>
        {drawn ? <RankLoadView api={api} deployment={deployment} counts={map.counts} tick={tick} /> : null}
      </div>
      {drawn ? <LayerTimeView api={api} deployment={deployment} layers={map.counts.length} initialLayer={hottest.layer} range={q} tick={tick} /> : null}
      {drawn ? <ImbalanceByLayerView api={api} deployment={deployment} range={q} tick={tick} /> : null}
    </>
  );
}
