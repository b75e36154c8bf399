import { Injectable } from '@nestjs/common';
import { LayerStatus, RolloutState } from '@eplb/domain';
import { counter, histogram } from '@eplb/platform';

const layerDuration = histogram(
  'eplb_rollout_layer_duration_seconds',
  'Time from a layer leaving PENDING to its end in a rollout (committed, aborted, rolled back)',
  [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  ['outcome'] as const,
);
const bytesMoved = counter('eplb_rollout_bytes_moved_total', 'Expert weight bytes moved between agents by committed layers', ['deployment'] as const);

/** Where a layer's move ends, as the `outcome` label says it. */
const OUTCOMES: Partial<Record<LayerStatus, string>> = { COMMITTED: 'committed', ABORTED: 'aborted', ROLLED_BACK: 'rolled_back' };

/**
 * Layer figures of the rollouts this instance drives, read off each step's state before and
 * after: when a layer left PENDING, and how and when it ended. A layer taken over from another
 * instance mid-move is timed from the takeover (its start is in the other process).
 */
@Injectable()
export class RolloutLayerMetrics {
  /** `rolloutId/layer` → when this instance saw the layer leave PENDING. */
  private readonly started = new Map<string, number>();

  observe(deployment: string, before: RolloutState, after: RolloutState, now: number): void {
    const rid = after.plan.rolloutId;
    for (let i = 0; i < after.layers.length; i++) {
      const was = before.layers[i]?.status;
      const l = after.layers[i];
      if (was === l.status) continue;
      const key = `${rid}/${l.layer}`;
      if (was === 'PENDING' || !this.started.has(key)) this.started.set(key, now);
      const outcome = OUTCOMES[l.status];
      if (!outcome) continue;
      layerDuration.observe({ outcome }, (now - this.started.get(key)!) / 1000);
      this.started.delete(key);
      if (l.status === 'COMMITTED') bytesMoved.inc({ deployment }, after.plan.layers.find((p) => p.layer === l.layer)?.bytes ?? 0);
    }
  }
}
