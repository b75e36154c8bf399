import { describe, expect, it } from 'vitest';
import { ClosedEpisode } from '@eplb/domain';
import { MessageBatch } from '@eplb/messaging';
import { metricsRegistry } from '@eplb/platform';
import { observeHeatBatch, observeStoredEpisodes } from './heat-metrics';

async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

const episode = (imbalance: number[], layerVersions: number[]): ClosedEpisode =>
  ({ imbalance: Float64Array.from(imbalance), layerVersions: Int32Array.from(layerVersions) }) as unknown as ClosedEpisode;

describe('heat metrics', () => {
  it("sets each layer's imbalance from the newest stored episode, keeping a layer's figure while a rollout mixed it", async () => {
    observeStoredEpisodes('dep-m', 'decode', [episode([1.5, 1.2], [1, 1]), episode([1.4, 1.9], [2, 0])]);
    expect(await sample('eplb_heat_imbalance_ratio', { deployment: 'dep-m', phase: 'decode', layer: '0' })).toBe(1.4);
    expect(await sample('eplb_heat_imbalance_ratio', { deployment: 'dep-m', phase: 'decode', layer: '1' })).toBe(1.2);
  });

  it('reports how many messages the partition holds beyond the batch, and how old its newest message is', async () => {
    const batch: MessageBatch = {
      topic: 'heat',
      partition: 7,
      highWatermark: '120',
      messages: [100, 101].map((o) => ({ topic: 'heat', partition: 7, offset: String(o), key: null, value: null, headers: {}, timestamp: String(50_000) })),
    };
    observeHeatBatch(batch, 53_000);
    expect(await sample('eplb_collector_consumer_lag_messages', { partition: '7' })).toBe(18);
    expect(await sample('eplb_collector_lag_seconds', { partition: '7' })).toBe(3);
  });
});
