/**
 * Where the policy benches' windows come from (bench/traces/variants.ts for bench:policy,
 * bench/policy-heldout.bench.ts): the real measured loads in /work/shared/traces/real as a heat
 * file and its next window, windows summed into one (as SGLang's and vLLM's recorders write), and
 * intervals drawn from the repo's seeded router model on a given shape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeploymentShape, HeatEpisodes, RouterModel, ScenarioKind, heatFileToInput, toHeatEpisodes } from '@eplb/domain';

export const REAL = '/work/shared/traces/real';

export interface RealTrace {
  readonly shape: DeploymentShape;
  readonly heat: HeatEpisodes;
  readonly current: number[][];
  readonly future: HeatEpisodes;
}

/** A real trace: what a policy sees (heat and the map in service) and the next window. */
export function readReal(name: string): RealTrace {
  const input = heatFileToInput(JSON.parse(readFileSync(join(REAL, `${name}.json`), 'utf8')));
  const future = toHeatEpisodes(JSON.parse(readFileSync(join(REAL, `${name}.future.json`), 'utf8')).heat);
  return { shape: input.shape, heat: input.heat, current: input.current as number[][], future };
}

/** All episodes summed into one (a one-window heat file, as SGLang's and vLLM's recorders write). */
export const summed = (heat: HeatEpisodes): HeatEpisodes => [heat[0].map((_, l) => heat.reduce((acc, ep) => acc.map((v, e) => v + ep[l][e]), new Float64Array(heat[0][l].length)))];

/** A router-model shape: E experts on R ranks × S slots (one node), L layers, top-k routing. */
export interface Gen {
  readonly E: number;
  readonly R: number;
  readonly S: number;
  readonly L: number;
  readonly topK: number;
}

export const shapeOf = (g: Gen): DeploymentShape => ({ numLayers: g.L, numExperts: g.E, numRanks: g.R, slotsPerRank: g.S, numNodes: 1 });

/**
 * Three consecutive intervals of `episodes` episodes (16 steps of 256 tokens each) from the router
 * model with `seed`; scenario settings are the simulator's (drift by one position every 4 episodes,
 * spikes lasting half an episode).
 */
export function draw(g: Gen, scenarios: ScenarioKind[], seed: number, episodes: number): HeatEpisodes[] {
  const steps = 16;
  const model = new RouterModel({
    numLayers: g.L,
    numExperts: g.E,
    tokensPerStep: 256,
    topK: g.topK,
    seed,
    scenarios,
    phaseSteps: steps,
    driftSteps: 4 * steps,
    spikeSteps: steps / 2,
  });
  const step = new Int32Array(g.L * g.E);
  const out: HeatEpisodes[] = [];
  for (let i = 0; i < 3; i++) {
    const heat: Float64Array[][] = [];
    for (let k = 0; k < episodes; k++) {
      const ep = Array.from({ length: g.L }, () => new Float64Array(g.E));
      for (let s = 0; s < steps; s++) {
        model.next(step);
        for (let l = 0; l < g.L; l++) for (let e = 0; e < g.E; e++) ep[l][e] += step[l * g.E + e];
      }
      heat.push(ep);
    }
    out.push(heat);
  }
  return out;
}

/**
 * The real DeepSeek-V3 prefill workloads (input lengths 4096, 2048 and 512: one window each) and three engine shapes of that
 * model to plan them on: the traces' own 32 ranks × 9 slots, 64 × 5 on 8 nodes, 16 × 20 on 2.
 */
export function dsv3Prefill(): { readonly windows: Record<string, HeatEpisodes>; readonly shapes: Record<string, DeploymentShape> } {
  const p = readReal('real-dsv3-prefill-shift'), fit = readReal('real-dsv3-fit');
  return {
    windows: { 4096: fit.heat, 2048: p.heat, 512: p.future },
    shapes: {
      '32x9': p.shape,
      '64x5': { ...p.shape, numRanks: 64, slotsPerRank: 5, numNodes: 8 },
      '16x20': { ...p.shape, numRanks: 16, slotsPerRank: 20, numNodes: 2 },
    },
  };
}
