import { allPages, ApiClient } from '@eplb/api-client';
import type { ImbalanceTrend } from '@eplb/contracts';
import { useMemo } from 'preact/hooks';
import { formatTime } from '../shell/format';
import { ProblemView } from '../shell/problem-view';
import { useApi } from '../shell/use-api';
import { MatrixChart } from './matrix-chart';
import type { Phase } from './time-range';

/** Per layer, the mean per-episode imbalance of every time bucket of the range under the map in force. */
export function ImbalanceByLayerView({ api, deployment, range, tick }: { api: ApiClient; deployment: string; range: { phase: Phase; from: string; to: string }; tick: number }) {
  const trend = useApi(
    () =>
      allPages(
        (from: string | undefined) => api.imbalanceTrend(deployment, { ...range, ...(from ? { from } : {}) }),
        (p): { items: ImbalanceTrend['buckets']; next: string | null } => ({ items: p.buckets, next: p.next }),
      ),
    [api, deployment, range.phase, // the span, not its ends: a live re-read moves the ends and keeps what is shown until it is in
      Date.parse(range.to) - Date.parse(range.from)],
    tick,
  );
  const chart = useMemo(() => {
    if (trend.state !== 'ok') return null;
    const buckets = trend.value.filter((b) => b.mean.length > 0);
    return { values: buckets.map((b) => b.mean), labels: buckets.map((b) => formatTime(b.t)), worst: worstNow(buckets.at(-1)?.mean ?? []) };
  }, [trend]);
  return (
    <section>
      <h2>Imbalance trend per layer</h2>
      {trend.state === 'error' ? <ProblemView error={trend.error} /> : null}
      {chart && chart.worst ? (
        <p data-testid="worst-layer">
          Newest bucket: worst layer {chart.worst.layer} at {chart.worst.value.toFixed(3)} (max/mean rank load; 1 is balanced).
        </p>
      ) : null}
      {chart && chart.values.length > 0 ? <MatrixChart values={chart.values} xLabels={chart.labels} xName="time" yName="layer" unit="imbalance" testId="imbalance-trend" min={1} /> : null}
      {chart && chart.values.length === 0 ? <p class="muted">No imbalance measured in this range.</p> : null}
    </section>
  );
}

function worstNow(mean: readonly number[]): { layer: number; value: number } | null {
  if (mean.length === 0) return null;
  let worst = 0;
  for (let l = 1; l < mean.length; l++) if (mean[l] > mean[worst]) worst = l;
  return { layer: worst, value: mean[worst] };
}
