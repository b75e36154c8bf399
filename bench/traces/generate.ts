/**
 * Generates the trace pairs of kinds missing from /work/shared/traces (drifting heat, random
 * spikes) with the repo's own seeded router model (libs/domain/src/simulation/router-model.ts),
 * in the shared traces' format: X.json (the interval a policy sees, `current` = the map in
 * service, made by our greedy from the interval before) and X.future.json (the next interval,
 * on which a map is judged). These are OUR generated traces, not measured ones: the bench labels
 * them so.
 *
 *   node -r @swc-node/register bench/traces/generate.ts
 *
 * Shape like phase-qwen30-ep8 (128 experts, top-8, 8 ranks × 20 slots) with 16 layers to keep the
 * files small; 16 episodes of 16 steps per interval, 256 tokens per step (32,768 picks per
 * episode and layer, as in the shared traces). Scenario settings are the simulator's
 * (apps/simulator/src/run.ts: drift by one position every 4 episodes, spikes lasting half an
 * episode) and the model's defaults otherwise; nothing is tuned to any policy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RouterModel, ScenarioKind, getPolicy } from '@eplb/domain';

const L = 16, E = 128, TOP_K = 8, R = 8, S = 20, EPISODES = 16, EPISODE_STEPS = 16, TOKENS = 256;

type Heat = number[][][];

function intervals(scenario: ScenarioKind, seed: number): Heat[] {
  const model = new RouterModel({
    numLayers: L,
    numExperts: E,
    tokensPerStep: TOKENS,
    topK: TOP_K,
    seed,
    scenarios: [scenario],
    phaseSteps: EPISODE_STEPS,
    driftSteps: 4 * EPISODE_STEPS,
    spikeSteps: EPISODE_STEPS / 2,
  });
  const out: Heat[] = [];
  const step = new Int32Array(L * E);
  for (let i = 0; i < 3; i++) {
    const heat: Heat = [];
    for (let k = 0; k < EPISODES; k++) {
      const ep = Array.from({ length: L }, () => new Array<number>(E).fill(0));
      for (let s = 0; s < EPISODE_STEPS; s++) {
        model.next(step);
        for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) ep[l][e] += step[l * E + e];
      }
      heat.push(ep);
    }
    out.push(heat);
  }
  return out;
}

function write(name: string, scenario: ScenarioKind, seed: number): void {
  const [before, seen, future] = intervals(scenario, seed);
  const shape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 };
  const toF64 = (h: Heat) => h.map((ep) => ep.map((l) => Float64Array.from(l)));
  // the map in service: the classic greedy planned on the interval before
  const current = getPolicy('greedy')({ shape, heat: toF64(before) }).physicalToLogical;
  const dir = __dirname;
  const head = { num_ranks: R, num_nodes: 1, slots_per_rank: S, num_groups: 1, generated: `router-model ${scenario}, seed ${seed}` };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ ...head, heat: seen, current }));
  writeFileSync(join(dir, `${name}.future.json`), JSON.stringify({ heat: future }));
}

write('drift-gen-qwen30-ep8', 'drift', 1);
write('spike-gen-qwen30-ep8', 'spikes', 2);
