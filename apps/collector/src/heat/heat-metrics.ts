import { ClosedEpisode } from '@eplb/domain';
import { gauge } from '@eplb/platform';
import { MessageBatch } from '@eplb/messaging';

const layerImbalance = gauge(
  'eplb_heat_imbalance_ratio',
  'Measured max/mean rank load of a layer in the newest stored episode, under the map in service (1 = balanced)',
  ['deployment', 'phase', 'layer'] as const,
);
const consumerLag = gauge('eplb_collector_consumer_lag_messages', 'Heat messages on the partition not yet handled when the last batch was done', ['partition'] as const);
const lagSeconds = gauge('eplb_collector_lag_seconds', 'Age of the newest heat message of the last batch handled (Kafka append time to now)', ['partition'] as const);

/** The figures of one handled batch of heat: how far the collector is behind its partition. */
export function observeHeatBatch(batch: MessageBatch, now: number): void {
  const last = batch.messages[batch.messages.length - 1];
  if (!last) return;
  const partition = String(batch.partition);
  if (batch.highWatermark !== undefined) consumerLag.set({ partition }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)));
  const appended = Number(last.timestamp);
  if (Number.isFinite(appended) && appended > 0) lagSeconds.set({ partition }, Math.max(0, (now - appended) / 1000));
}

/**
 * The measured imbalance of stored episodes, per layer. Episodes arrive in order per stream, so
 * the last one sets the gauge; a layer mixed by a rollout inside the episode (version 0) keeps
 * its previous figure, as its measure spans two maps.
 */
export function observeStoredEpisodes(deployment: string, phase: string, episodes: readonly ClosedEpisode[]): void {
  for (const ep of episodes) {
    for (let layer = 0; layer < ep.imbalance.length; layer++) {
      const v = ep.imbalance[layer];
      if (ep.layerVersions[layer] === 0 || !Number.isFinite(v) || v <= 0) continue;
      layerImbalance.set({ deployment, phase, layer: String(layer) }, v);
    }
  }
}
