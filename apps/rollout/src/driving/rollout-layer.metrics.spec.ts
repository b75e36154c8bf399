import { describe, expect, it } from 'vitest';
import { LayerStatus, RolloutState } from '@eplb/domain';
import { metricsRegistry } from '@eplb/platform';
import { RolloutLayerMetrics } from './rollout-layer.metrics';

/** The slice of a rollout's state the metrics read: its plan's layers and bytes, each layer's status. */
const stateOf = (statuses: LayerStatus[]): RolloutState =>
  ({
    plan: { rolloutId: 'r1', layers: statuses.map((_, layer) => ({ layer, bytes: 1000 * (layer + 1) })) },
    layers: statuses.map((status, layer) => ({ layer, status })),
  }) as unknown as RolloutState;

/** One series' value: `series` is the metric's name, or a histogram's `_count`/`_sum` series. */
async function sample(series: string, labels: Record<string, string>): Promise<number> {
  const metrics = await metricsRegistry.getMetricsAsJSON();
  const values = metrics.flatMap((m) => m.values.map((v) => ({ ...v, series: (v as { metricName?: string }).metricName ?? m.name })));
  return values.find((v) => v.series === series && Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

describe('RolloutLayerMetrics', () => {
  it('times each layer from leaving PENDING to its end, by outcome, and counts the bytes of committed layers', async () => {
    const m = new RolloutLayerMetrics();
    const committedBefore = await sample('eplb_rollout_layer_duration_seconds_count', { outcome: 'committed' });
    const abortedBefore = await sample('eplb_rollout_layer_duration_seconds_count', { outcome: 'aborted' });
    const sumBefore = await sample('eplb_rollout_layer_duration_seconds_sum', { outcome: 'committed' });

    m.observe('dep', stateOf(['PENDING', 'PENDING']), stateOf(['PREPARING', 'PREPARING']), 10_000);
    m.observe('dep', stateOf(['PREPARING', 'PREPARING']), stateOf(['COMMITTING', 'ABORTED']), 11_000);
    m.observe('dep', stateOf(['COMMITTING', 'ABORTED']), stateOf(['COMMITTED', 'ABORTED']), 12_500);

    expect(await sample('eplb_rollout_layer_duration_seconds_count', { outcome: 'committed' })).toBe(committedBefore + 1);
    expect(await sample('eplb_rollout_layer_duration_seconds_sum', { outcome: 'committed' })).toBeCloseTo(sumBefore + 2.5);
    expect(await sample('eplb_rollout_layer_duration_seconds_count', { outcome: 'aborted' })).toBe(abortedBefore + 1);
    expect(await sample('eplb_rollout_bytes_moved_total', { deployment: 'dep' })).toBe(1000);
  });
});
