/**
 * The cuts of bench:policy-heldout (bench/policy-heldout.bench.ts): windows of the real and
 * generated loads that bench:policy does not judge on, built in memory with seeds bench:policy and
 * bench/traces do not use, each with the next window it is judged on. Shared with the probes that
 * judge other maps on the same cuts (bench/probes/one-window-shift/ceiling.ts).
 */
import { DeploymentShape, HeatEpisodes, ScenarioKind, getPolicy, lcgUniform, zipfWindow, zipfWorkload } from '@eplb/domain';
import { CutKind } from './policy-judge';
import { GEN_SHAPES } from '../traces/variants';
import { Gen, draw, dsv3Prefill, readReal, shapeOf, summed } from '../traces/windows';
/** Router-model seeds (bench:policy's variants use 21–88, bench/traces 1–2); a shift's old map is drawn from seed + 100. */
const ROUTER_SEEDS = [5001, 6007];
/** Seeds of the router model's drifting, alternating and spiking traffic (used nowhere else: not by bench:policy, bench/traces or the sets above). */
const KIND_SEEDS = [7013, 7229, 7481, 7717];
/** Episodes of each drifting, alternating or spiking window (bench:policy's rows have 16), kept apart. */
const KIND_EPISODES = [16, 8];
/** Wander-grid seeds: each is a workload (the zipf permutation) and the seed of its windows' wander. */
export const WANDER_SEEDS = Array.from({ length: 20 }, (_, i) => 9001 + i);
export const WANDER_LAYERS = [4, 8, 12, 24];
export const WANDERS = [0.02, 0.04, 0.05, 0.06, 0.07, 0.1];
const PARTIAL_KS = [1, 2, 3, 4, 5, 6, 8];

export interface Input {
  readonly shape: DeploymentShape;
  readonly heat: HeatEpisodes;
  readonly current: number[][];
}
export interface Cut {
  readonly name: string;
  readonly input: Input;
  readonly future: HeatEpisodes;
}
export interface CutSet {
  readonly name: string;
  readonly kind: CutKind;
  readonly about: string;
  readonly cuts: () => Cut[];
}

const greedyMap = (shape: DeploymentShape, heat: HeatEpisodes): number[][] => getPolicy('greedy')({ shape, heat }).physicalToLogical;

/**
 * How a seen window reaches the policy: summed into one (as SGLang's and vLLM's recorders write),
 * or its episodes kept apart (a recorder that writes one per interval) — the policy's held-out
 * test needs at least HELD_OUT_EPISODES of them, so windows kept apart are no shorter.
 */
type Seen = 'summed' | 'episodes';
const HELD_OUT_EPISODES = 4;
const asSeen = (seen: Seen, heat: HeatEpisodes): HeatEpisodes => (seen === 'summed' ? summed(heat) : heat);

/**
 * Windows of `w` = 2..10 consecutive iterations of `its` (4..10 with the episodes kept apart),
 * starting at every iteration, each judged on the next ≤ `next` iterations (at least one).
 */
function iterationCuts(tag: string, its: HeatEpisodes, offset: number, shape: DeploymentShape, current: number[][], seen: Seen = 'summed', next = 5): Cut[] {
  const out: Cut[] = [];
  for (let w = seen === 'summed' ? 2 : HELD_OUT_EPISODES; w <= 10; w++) {
    for (let a = 0; a + w < its.length; a++) {
      const name = `${tag} ${offset + a}–${offset + a + w - 1} → ${offset + a + w}–${offset + Math.min(a + w + next, its.length) - 1}`;
      out.push({ name, input: { shape, heat: asSeen(seen, its.slice(a, a + w)), current }, future: its.slice(a + w, a + w + next) });
    }
  }
  return out;
}

/** All 20 iterations of a real Qwen trace (seen 0–9, future 10–19) with its shape and map in service. */
function qwen(file: string): { shape: DeploymentShape; its: HeatEpisodes; current: number[][] } {
  const t = readReal(file);
  return { shape: t.shape, its: [...t.heat, ...t.future], current: t.current };
}

/** The router model's 8 shapes: bench:policy's 6 variants' and two more (16 ranks × 5 slots, 8 ranks × 20 slots). */
const routerShapes: Record<string, Gen> = {
  ...GEN_SHAPES,
  '64x16x5': { E: 64, R: 16, S: 5, L: 8, topK: 6 },
  '128x8x20': { E: 128, R: 8, S: 20, L: 16, topK: 8 },
};

/** The router model's scenario for each kind of cut (same and shift are both stationary traffic; a shift's map is made on another seed's). */
const ROUTER_SCENARIO: Readonly<Record<CutKind, ScenarioKind>> = { same: 'stationary', shift: 'stationary', drift: 'drift', alternating: 'alternating', spikes: 'spikes' };

/**
 * A window of `n` episodes of the kind's traffic per shape, seed and `n` (summed, or kept apart),
 * judged on the next `n`; the map in service is our greedy on the interval before it — of the same
 * draw (as bench:policy's drift, alternating and spikes rows have it), or for a shift, of seed + 100's
 * stationary traffic.
 */
function routerCuts(kind: CutKind, seen: Seen = 'summed', seeds = ROUTER_SEEDS, lengths = [16, 4]): Cut[] {
  const out: Cut[] = [];
  for (const [tag, g] of Object.entries(routerShapes)) {
    for (const seed of seeds) {
      for (const n of lengths) {
        const [before, window, future] = draw(g, [ROUTER_SCENARIO[kind]], seed, n);
        const old = kind === 'shift' ? draw(g, ['stationary'], seed + 100, n)[0] : before;
        out.push({ name: `${tag} seed ${seed}, ${n} episodes`, input: { shape: shapeOf(g), heat: asSeen(seen, window), current: greedyMap(shapeOf(g), old) }, future });
      }
    }
  }
  return out;
}

/** DeepSeek-V3 prefill workloads (one window each): the map = our greedy on A, seen B ≠ A, judged on each of the three. */
function dsv3Cuts(): Cut[] {
  const { windows, shapes } = dsv3Prefill();
  const out: Cut[] = [];
  for (const [tag, shape] of Object.entries(shapes)) {
    for (const a of Object.keys(windows)) {
      const current = greedyMap(shape, windows[a]);
      for (const b of Object.keys(windows).filter((x) => x !== a)) {
        // one input per (map, seen): the policies run once on it, judged on each next window
        const input = { shape, heat: windows[b], current };
        for (const n of Object.keys(windows)) out.push({ name: `${tag} map ${a}, seen ${b}, next ${n}`, input, future: windows[n] });
      }
    }
  }
  return out;
}

/** real-qwen-shift with the map of its first k layers replaced by our greedy on all 20 iterations of the new traffic; 4 cuts of 4 iterations. */
function partialCuts(k: number): Cut[] {
  const { shape, its, current } = qwen('real-qwen-shift');
  const fitted = greedyMap(shape, its);
  const mixed = current.map((row, l) => (l < k ? fitted[l] : row));
  return [0, 4, 8, 12].map((a) => ({
    name: `k ${k}, ${a}–${a + 3} → ${a + 4}–${Math.min(a + 9, 20) - 1}`,
    input: { shape, heat: summed(its.slice(a, a + 4)), current: mixed },
    future: its.slice(a + 4, a + 9),
  }));
}

/** The zipf wander model: 64 experts on 8 ranks × 10 slots, the map made on one window of the workload, seen another, judged on a third. */
function wanderCuts(layers: number, wander: number): Cut[] {
  const shape: DeploymentShape = { numLayers: layers, numExperts: 64, numRanks: 8, slotsPerRank: 10, numNodes: 1 };
  return WANDER_SEEDS.map((seed) => {
    const perm = zipfWorkload(64, seed), u = lcgUniform(seed);
    const win = (): HeatEpisodes => [zipfWindow(perm, layers, 320_000, wander, u)];
    const current = greedyMap(shape, win());
    return { name: `seed ${seed}`, input: { shape, heat: win(), current }, future: win() };
  });
}

/** A real Qwen trace's cuts under the map in service its file holds. */
function fileMapCuts(file: string, tag: string, seen: Seen = 'summed'): Cut[] {
  const q = qwen(file);
  return iterationCuts(tag, q.its, 0, q.shape, q.current, seen);
}

/** real-qwen-same under our greedy on one half (0–9: early, 10–19: late), cut within the other half. */
function qwenGreedyCuts(mapHalf: 'early' | 'late', seen: Seen = 'summed'): Cut[] {
  const q = qwen('real-qwen-same');
  const [mapIts, cutIts, offset] = mapHalf === 'early' ? [q.its.slice(0, 10), q.its.slice(10), 10] : [q.its.slice(10), q.its.slice(0, 10), 0];
  return iterationCuts('wmt19', cutIts, offset, q.shape, greedyMap(q.shape, mapIts), seen);
}

/**
 * The qwen and router sets with the seen window's episodes kept apart (each iteration or router
 * interval one episode): the policy's held-out test judges these, where the summed sets go through
 * its one-window rule.
 */
const episodeSets = (): CutSet[] => {
  const seen: Seen = 'episodes';
  const kept = 'episodes kept apart (windows of ≥ 4)';
  return [
    { name: 'qwen-same-file-episodes', kind: 'same', about: `real-qwen-same, map from the file, ${kept}, next ≤ 5`, cuts: () => fileMapCuts('real-qwen-same', 'wmt19', seen) },
    { name: 'qwen-same-greedy-early-episodes', kind: 'same', about: `real-qwen-same, map = our greedy on 0–9, cuts within 10–19, ${kept}`, cuts: () => qwenGreedyCuts('early', seen) },
    { name: 'qwen-same-greedy-late-episodes', kind: 'same', about: `real-qwen-same, map = our greedy on 10–19, cuts within 0–9, ${kept}`, cuts: () => qwenGreedyCuts('late', seen) },
    { name: 'router-stationary-episodes', kind: 'same', about: `router model, stationary, 16 or 4 episodes kept apart, 8 shapes, seeds ${ROUTER_SEEDS.join('/')}`, cuts: () => routerCuts('same', seen) },
    { name: 'qwen-shift-file-episodes', kind: 'shift', about: `real-qwen-shift, map from the file, ${kept}, next ≤ 5`, cuts: () => fileMapCuts('real-qwen-shift', 'bookcorpus', seen) },
    { name: 'router-shift-episodes', kind: 'shift', about: 'router model, shift (old map from seed + 100), the draws of router-shift with its episodes kept apart', cuts: () => routerCuts('shift', seen) },
    ...(['drift', 'alternating', 'spikes'] as const).map(
      (kind): CutSet => ({
        name: `router-${kind}-episodes`,
        kind,
        about: `router model, ${kind} (map = our greedy on the interval before), ${KIND_EPISODES.join(' or ')} episodes kept apart, 8 shapes, seeds ${KIND_SEEDS.join('/')}`,
        cuts: () => routerCuts(kind, seen, KIND_SEEDS, KIND_EPISODES),
      }),
    ),
  ];
};

export const wanderSet = (L: number, w: number): CutSet => ({
  name: `wander-L${L}-${Math.round(w * 100)}`,
  kind: 'same',
  about: `zipf model, ${L} layers, ±${Math.round(w * 100)}%`,
  cuts: () => wanderCuts(L, w),
});

export const SETS: CutSet[] = [
  {
    name: 'qwen-same-file',
    kind: 'same',
    about: 'real-qwen-same (wmt19), map in service from the file (baseline.py on 0–19), windows of 2–10 iterations summed, next ≤ 5',
    cuts: () => fileMapCuts('real-qwen-same', 'wmt19'),
  },
  {
    name: 'qwen-same-greedy-early',
    kind: 'same',
    about: 'real-qwen-same, map = our greedy on iterations 0–9, cuts within 10–19',
    cuts: () => qwenGreedyCuts('early'),
  },
  {
    name: 'qwen-same-greedy-late',
    kind: 'same',
    about: 'real-qwen-same, map = our greedy on iterations 10–19, cuts within 0–9',
    cuts: () => qwenGreedyCuts('late'),
  },
  { name: 'router-stationary', kind: 'same', about: `router model, stationary, one summed window of 16 or 4 episodes, 8 shapes, seeds ${ROUTER_SEEDS.join('/')}`, cuts: () => routerCuts('same') },
  {
    name: 'qwen-shift-file',
    kind: 'shift',
    about: 'real-qwen-shift (bookcorpus; map from the file, planned on `random`), the same cuts as qwen-same-file',
    cuts: () => fileMapCuts('real-qwen-shift', 'bookcorpus'),
  },
  { name: 'router-shift', kind: 'shift', about: 'router model, shift (old map from seed + 100), same shapes, seeds and windows', cuts: () => routerCuts('shift') },
  { name: 'dsv3', kind: 'shift', about: 'DSV3 prefill 4096/2048/512: map = our greedy on A, seen B ≠ A, next any; shapes 32×9, 64×5, 16×20', cuts: dsv3Cuts },
  ...PARTIAL_KS.map(
    (k): CutSet => ({ name: `partial-k${k}`, kind: 'shift', about: `real-qwen-shift, ${k} of 12 layers' map = our greedy on the new traffic (0–19), 4 cuts of 4 iterations`, cuts: () => partialCuts(k) }),
  ),
  ...WANDER_LAYERS.flatMap((L) => WANDERS.map((w) => wanderSet(L, w))),
  ...episodeSets(),
];
