import { allPages, ApiClient } from '@eplb/api-client';
import type { LayerTimeHeatmap } from '@eplb/contracts';
import { useMemo, useState } from 'preact/hooks';
import { formatTime } from '../shell/format';
import { ProblemView } from '../shell/problem-view';
import { useApi } from '../shell/use-api';
import { MatrixChart } from './matrix-chart';
import type { Phase } from './time-range';

type Bucket = NonNullable<LayerTimeHeatmap['buckets']>[number];

/** One layer × experts × time: every bucket of the range, page after page. */
export function LayerTimeView({ api, deployment, layers, initialLayer, range, tick }: { api: ApiClient; deployment: string; layers: number; initialLayer: number; range: { phase: Phase; from: string; to: string }; tick: number }) {
  const [layer, setLayer] = useState(initialLayer);
  const buckets = useApi(
    () =>
      allPages(
        (from: string | undefined) => api.layerHeatmap(deployment, layer, { ...range, ...(from ? { from } : {}) }),
        (p): { items: Bucket[]; next: string | null } => ({ items: p.buckets ?? [], next: p.next }),
      ),
    [api, deployment, layer, range.phase, // the span, not its ends: a live re-read moves the ends and keeps what is shown until it is in
      Date.parse(range.to) - Date.parse(range.from)],
    tick,
  );
  const chart = useMemo(() => (buckets.state === 'ok' ? { values: buckets.value.map((b) => b.counts), labels: buckets.value.map((b) => formatTime(b.t)) } : null), [buckets]);
  return (
    <section>
      <h2>
        Layer{' '}
        <select data-testid="time-layer" value={layer} onChange={(e) => setLayer(Number(e.currentTarget.value))}>
          {Array.from({ length: layers }, (_, l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>{' '}
        × experts × time
      </h2>
      {buckets.state === 'error' ? <ProblemView error={buckets.error} /> : null}
      {chart && chart.values.length > 0 ? <MatrixChart values={chart.values} xLabels={chart.labels} xName="time" yName="expert" unit="tokens" testId="layer-time" /> : null}
      {chart && chart.values.length === 0 ? <p class="muted">No buckets in this range.</p> : null}
    </section>
  );
}
