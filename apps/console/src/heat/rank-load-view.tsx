import type { ApiClient } from '@eplb/api-client';
import { useMemo, useState } from 'preact/hooks';
import { ProblemView } from '../shell/problem-view';
import { useApi } from '../shell/use-api';
import { mapInService } from './map-in-service';
import { rankLoads } from './rank-load';

/** Per rank, the load the range put on it under the map in service, hottest first, and the experts that did. */
export function RankLoadView({ api, deployment, counts, tick }: { api: ApiClient; deployment: string; counts: number[][]; tick: number }) {
  const map = useApi(() => mapInService(api, deployment), [api, deployment], tick);
  const [layer, setLayer] = useState<'all' | number>('all');
  const loads = useMemo(() => {
    if (map.state !== 'ok') return null;
    const layers = layer === 'all' ? counts.map((_, l) => l) : [layer];
    return rankLoads(counts, map.value.physicalToLogical, map.value.slotsPerRank, layers);
  }, [map, counts, layer]);
  if (map.state === 'error') return <ProblemView error={map.error} />;
  if (!loads || map.state !== 'ok') return <p class="muted">Loading the map in service…</p>;
  const max = Math.max(...loads.ranks.map((r) => r.load), 1);
  const versions = [...new Set(map.value.versions)];
  return (
    <section data-testid="rank-load">
      <h2>Per-rank load under the map in service</h2>
      <p class="muted">
        Map version{versions.length > 1 ? 's' : ''} {versions.join(', ')} in service; an expert's tokens are split evenly over its replicas.{' '}
        <label>
          layer{' '}
          <select data-testid="rank-layer" value={String(layer)} onChange={(e) => setLayer(e.currentTarget.value === 'all' ? 'all' : Number(e.currentTarget.value))}>
            <option value="all">all layers</option>
            {counts.map((_, l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>{' '}
        imbalance (max/mean) <strong data-testid="rank-imbalance">{loads.imbalance.toFixed(3)}</strong>
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th>rank</th>
            <th>load</th>
            <th>× mean</th>
            <th>why: biggest contributors</th>
          </tr>
        </thead>
        <tbody>
          {[...loads.ranks]
            .sort((a, b) => b.load - a.load || a.rank - b.rank)
            .map((r) => (
              <tr key={r.rank} data-rank={r.rank} class={r.ratio > 1.1 ? 'hot' : ''}>
                <td>{r.rank}</td>
                <td>
                  <span class="load-track">
                    <span class="load-bar" style={{ width: `${(100 * r.load) / max}%` }} />
                  </span>{' '}
                  {Math.round(r.load)}
                </td>
                <td>{r.ratio.toFixed(2)}</td>
                <td>
                  {r.top.map((t) => `layer ${t.layer} expert ${t.expert} (${Math.round(t.load)}${t.replicas > 1 ? `, 1 of ${t.replicas} replicas` : ', sole replica'})`).join('; ') || '—'}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}
