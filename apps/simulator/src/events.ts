import type { HeatEventV1, HeatPhase } from '@eplb/contracts';
import type { ClusterStep } from '@eplb/domain';
import { versionsOf } from './map-source';

export interface EventBuilderOptions {
  readonly deployment: string;
  readonly numLayers: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly phase: HeatPhase;
  /** Steps summed into one event per rank. */
  readonly stepsPerEvent: number;
  /** Engine step number of the model's step 0. */
  readonly startStep: number;
  readonly now?: () => Date;
}

/**
 * Turns simulated steps into `eplb.heat.v1` events: one per rank per `stepsPerEvent` steps, each
 * with the rank's S slots per layer summed over the window. A window never spans a map change:
 * if a layer's version changes, the window so far is emitted first (heat must be attributable to
 * the map it was measured under), so an event can cover fewer steps than asked.
 */
export class EventBuilder {
  private readonly P: number;
  private readonly acc: Float64Array;
  private versions: Int32Array | null = null;
  private firstStep = 0;
  private count = 0;

  constructor(private readonly o: EventBuilderOptions) {
    this.P = o.numRanks * o.slotsPerRank;
    this.acc = new Float64Array(o.numLayers * this.P);
  }

  /** Adds one step; returns the events it completes (none, or one per rank — twice that on a version change). */
  add(step: ClusterStep): HeatEventV1[] {
    const out: HeatEventV1[] = [];
    if (this.count > 0 && !sameVersions(this.versions!, step.layerVersions)) out.push(...this.flush());
    if (this.count === 0) {
      this.firstStep = step.step;
      this.versions = step.layerVersions.slice();
    }
    const { acc } = this;
    const s = step.slots;
    for (let i = 0; i < acc.length; i++) acc[i] += s[i];
    this.count++;
    if (this.count >= this.o.stepsPerEvent) out.push(...this.flush());
    return out;
  }

  /** Emits the window in progress (if any). */
  flush(): HeatEventV1[] {
    if (this.count === 0) return [];
    const { numLayers: L, numRanks: R, slotsPerRank: S, deployment, phase } = this.o;
    const { mapVersion, layerVersions } = versionsOf(this.versions!);
    const ts = (this.o.now?.() ?? new Date()).toISOString();
    const events: HeatEventV1[] = [];
    for (let r = 0; r < R; r++) {
      const load: number[][] = new Array(L);
      for (let l = 0; l < L; l++) {
        const row = new Array<number>(S);
        const base = l * this.P + r * S;
        for (let k = 0; k < S; k++) row[k] = this.acc[base + k];
        load[l] = row;
      }
      events.push({
        v: 1,
        deployment,
        rank: r,
        step: this.o.startStep + this.firstStep,
        steps: this.count,
        phase,
        mapVersion,
        layerVersions,
        ts,
        load,
      });
    }
    this.acc.fill(0);
    this.count = 0;
    return events;
  }
}

function sameVersions(a: Int32Array, b: ArrayLike<number>): boolean {
  for (let l = 0; l < a.length; l++) if (a[l] !== b[l]) return false;
  return true;
}
