/**
 * The demo's milestones as the launcher prints them, one line each, from what the API shows:
 * heat flowing, the first proposal, each rollout started, its layers committed (its end), and
 * the imbalance before → after (once: the first outcome the rollout service measured on the
 * collector's intervals, or — when rollouts follow each other too closely for an interval wholly
 * after one — the collector's episodes before the first rollout against recent episodes served
 * wholly by the committed maps). Pure: the watcher polls the API into a snapshot; this says what
 * is new.
 */

export interface DemoSnapshot {
  /** Recent episodes: per layer the measured imbalance and the map version it was on (0: mixed). */
  readonly episodes: readonly { readonly imbalance: readonly number[]; readonly layerVersions: readonly number[] }[];
  /** Proposals, newest first. */
  readonly proposals: readonly {
    readonly id: string;
    readonly interval: number;
    readonly figures: { readonly currentMean?: number; readonly candidateMean?: number; readonly chosenLayers?: readonly number[]; readonly transfers?: number };
    readonly decision: { readonly decision: string; readonly by: string | null; readonly mapVersion: number | null } | null;
  }[];
  readonly latestMapVersion: number;
  readonly rollouts: readonly {
    readonly rolloutId: string;
    readonly mapVersion: number;
    readonly fromVersion: number | null;
    readonly requestedBy: string;
    readonly status: string;
    readonly startedAt: string | null;
    readonly finishedAt: string | null;
    readonly failure: unknown;
    readonly outcome: { readonly measured: DemoOutcome | null; readonly why: string | null } | null;
  }[];
  readonly committedVersions: readonly number[];
}

export interface DemoOutcome {
  readonly before: { readonly imbalance: number; readonly interval: number };
  readonly after: { readonly imbalance: number; readonly interval: number };
  readonly gain: number;
  readonly excessRemoved: number | null;
  readonly projected: { readonly before: number; readonly after: number } | null;
  readonly onSameHeat?: { readonly previousMap: number; readonly newMap: number } | null;
}

export const MILESTONE = {
  heat: 'demo: heat flowing',
  proposal: 'demo: first proposal',
  version: 'demo: map version',
  started: 'demo: rollout started',
  committed: 'demo: layers committed',
  outcome: 'demo: imbalance before → after',
} as const;

/** What has been said already (the tracker's memory between polls). */
export class DemoMilestones {
  private heat = false;
  private proposal = false;
  private readonly versions = new Set<number>();
  private readonly started = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly measured = new Set<string>();
  private readonly startedAtMs: number;
  /** Mean measured imbalance of the recent episodes before any rollout started (frozen then). */
  private baseline: number | null = null;
  private headline = false;

  constructor(nowMs: number) {
    this.startedAtMs = nowMs;
  }

  /** The lines that are new in `s`, in the order things happen. */
  next(s: DemoSnapshot, nowMs: number): string[] {
    const out: string[] = [];
    const t = () => `(+${Math.round((nowMs - this.startedAtMs) / 1000)}s)`;
    if (!this.heat && s.episodes.length > 0) {
      this.heat = true;
      out.push(`${MILESTONE.heat} ${t()} — ${s.episodes.length} recent episodes, measured imbalance ${meanImbalance(s.episodes).toFixed(3)} (max/mean rank load, mean over layers; 1 is perfect)`);
    }
    const first = s.proposals[s.proposals.length - 1];
    if (!this.proposal && first) {
      this.proposal = true;
      const f = first.figures;
      out.push(
        `${MILESTONE.proposal} ${t()} — run ${first.id.slice(0, 8)} on interval ${first.interval}: projected imbalance ${num(f.currentMean)} → ${num(f.candidateMean)} on ${f.chosenLayers?.length ?? '?'} layers, ${f.transfers ?? '?'} transfers`,
      );
    }
    for (const p of [...s.proposals].reverse()) {
      const v = p.decision?.mapVersion;
      if (p.decision?.decision !== 'approved' || !v || this.versions.has(v)) continue;
      this.versions.add(v);
      if (!s.rollouts.some((r) => r.mapVersion === v)) out.push(`${MILESTONE.version} ${v} ${t()} — approved by ${p.decision.by ?? '?'} from run ${p.id.slice(0, 8)}; waiting for its rollout`);
    }
    if (!s.rollouts.some((r) => r.startedAt) && s.episodes.length > 0) this.baseline = meanImbalance(s.episodes);
    for (const r of s.rollouts) {
      const rid = r.rolloutId.slice(0, 8);
      if (r.startedAt && !this.started.has(r.rolloutId)) {
        this.started.add(r.rolloutId);
        out.push(`${MILESTONE.started} ${t()} — ${rid} v${r.fromVersion ?? '?'} → v${r.mapVersion}, requested by ${r.requestedBy}`);
      }
      if (r.finishedAt && r.startedAt && !this.finished.has(r.rolloutId)) {
        this.finished.add(r.rolloutId);
        const on = s.committedVersions.filter((v) => v === r.mapVersion).length;
        const took = ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1);
        const why = r.status === 'SUCCEEDED' ? '' : ` — ${reasonOf(r.failure)}`;
        out.push(`${MILESTONE.committed} ${t()} — ${rid} ${r.status} in ${took}s: ${on} of ${s.committedVersions.length} layers on v${r.mapVersion}${why}`);
      }
      const o = r.outcome;
      if (o && !this.measured.has(r.rolloutId)) {
        this.measured.add(r.rolloutId);
        if (o.measured) {
          const m = o.measured;
          const excess = m.excessRemoved === null ? '' : `, ${Math.round(m.excessRemoved * 100)}% of the excess over 1 removed`;
          const projected = m.projected ? `; projected ${m.projected.before.toFixed(3)} → ${m.projected.after.toFixed(3)}` : '';
          // the demo's heat drifts and alternates: the interval after is other traffic than the one before
          const same = m.onSameHeat ? `; on the heat after, the previous map ${m.onSameHeat.previousMap.toFixed(3)} against this one's ${m.onSameHeat.newMap.toFixed(3)}` : '';
          const prefix = this.headline ? `demo: outcome of rollout ${rid}` : MILESTONE.outcome;
          this.headline = true;
          out.push(`${prefix} ${t()} — ${m.before.imbalance.toFixed(3)} → ${m.after.imbalance.toFixed(3)} measured by the collector (intervals ${m.before.interval} → ${m.after.interval}, rollout ${rid}${excess}${projected}${same})`);
        } else {
          out.push(`demo: outcome of rollout ${rid} not measurable — ${o.why ?? 'no reason given'}`);
        }
      }
    }
    if (!this.headline && this.baseline !== null && s.rollouts.some((r) => r.finishedAt && r.status === 'SUCCEEDED')) {
      const served = s.episodes.filter((e) => e.layerVersions.length === s.committedVersions.length && e.layerVersions.every((v, l) => v === s.committedVersions[l]));
      if (served.length >= MIN_EPISODES_AFTER) {
        this.headline = true;
        const after = meanImbalance(served);
        const excess = this.baseline > 1 ? `, ${Math.round(((this.baseline - after) / (this.baseline - 1)) * 100)}% of the excess over 1 removed` : '';
        out.push(`${MILESTONE.outcome} ${t()} — ${this.baseline.toFixed(3)} → ${after.toFixed(3)} measured by the collector (episodes before the first rollout vs the last ${served.length} on the committed maps${excess})`);
      }
    }
    return out;
  }
}

/** Episodes wholly on the committed maps needed before the heat-based before → after line. */
const MIN_EPISODES_AFTER = 8;

export const meanImbalance = (episodes: readonly { readonly imbalance: readonly number[] }[]): number => {
  let sum = 0;
  let n = 0;
  for (const e of episodes) for (const v of e.imbalance) if (Number.isFinite(v)) (sum += v), n++;
  return n ? sum / n : 1;
};

const num = (x: number | undefined): string => (typeof x === 'number' ? x.toFixed(3) : '?');
const reasonOf = (failure: unknown): string => (failure && typeof failure === 'object' && 'reason' in failure ? String((failure as { reason: unknown }).reason) : 'no reason recorded');
