/**
 * How far can any placement go on alternating heat? (`npm run bench:policy-limit`)
 *
 * The alternating traces (phase-*) repeat a few phases, and each episode is its phase's levels
 * times per-expert noise. The noise is what no map planned before the interval can follow: a map
 * is fixed for the interval, the noise is drawn anew every episode. This bench measures, for each
 * phase trace, how much of the greedy's excess the noise leaves to any map, with three kinds of
 * figures:
 *  1. the noise itself, fitted on the seen interval: phases (period from the correlation of
 *     episodes p apart), the per-episode sd of log(share / phase mean), whether deviations carry
 *     over to the phase's next episode (lag-1 autocorrelation), and the seen vs future phase means;
 *  2. the real next interval: default and flash, and flash given hindsight — the next interval's
 *     own phase means (what a perfect estimate of each phase would give, plus luck: those means
 *     contain the next interval's noise), and every next episode (the noise itself known);
 *  3. synthetic next intervals drawn from the fitted model around the seen phase means (so the
 *     policies, planned from those means, have no estimation error at all), and synthetic seen
 *     intervals from the same model (what estimating the means from one interval costs).
 * Excess everywhere = (future − 1) / (greedy future − 1) on the same episodes, as bench:policy.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeatEpisodes, PolicyInput, getPolicy, heatFileToInput, layerTransfers, meanEpisodeImbalance, toHeatEpisodes } from '@eplb/domain';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const TRACES = process.env.EPLB_TRACES ?? '/work/shared/traces';
const TOOLS = process.env.EPLB_TOOLS ?? '/work/shared/tools';
const DRAWS = Number(process.env.LIMIT_DRAWS ?? 32);
const SEEDS = Number(process.env.LIMIT_SEEDS ?? 3);

/** Seeded normal draws (LCG + Box–Muller), so the figures repeat run to run. */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const shares = (h: Float64Array): Float64Array => {
  let t = 0;
  for (let e = 0; e < h.length; e++) t += h[e];
  return h.map((x) => (t > 0 ? x / t : 0));
};

function correlation(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** The smallest period p (1..4) whose episodes p apart correlate above 0.7 on average over layers. */
function period(heat: HeatEpisodes): number {
  const K = heat.length, L = heat[0].length;
  for (let p = 1; p <= 4; p++) {
    let c = 0, n = 0;
    for (let k = 0; k + p < K; k++) for (let l = 0; l < L; l++, n++) c += correlation(heat[k][l], heat[k + p][l]);
    if (n > 0 && c / n > 0.7) return p;
  }
  return 1;
}

/** means[phase][layer]: each phase's mean share per expert (episode k is phase k mod p). */
function phaseMeans(heat: HeatEpisodes, p: number): Float64Array[][] {
  const L = heat[0].length, E = heat[0][0].length;
  return Array.from({ length: p }, (_, ph) =>
    Array.from({ length: L }, (_, l) => {
      const m = new Float64Array(E);
      let n = 0;
      for (let k = ph; k < heat.length; k += p, n++) {
        const s = shares(heat[k][l]);
        for (let e = 0; e < E; e++) m[e] += s[e];
      }
      return m.map((x) => x / n);
    }),
  );
}

interface Noise {
  readonly sigma: number;
  readonly lag1: number;
}

/** sd of log(share / phase mean) per episode, and the lag-1 autocorrelation of those deviations within a phase. */
function fitNoise(heat: HeatEpisodes, p: number, means: Float64Array[][]): Noise {
  const L = heat[0].length, E = heat[0][0].length;
  let ss = 0, n = 0, c01 = 0, c00 = 0;
  for (let l = 0; l < L; l++) {
    for (let e = 0; e < E; e++) {
      for (let ph = 0; ph < p; ph++) {
        const mu = means[ph][l][e];
        if (mu <= 0) continue;
        let prev = NaN;
        for (let k = ph; k < heat.length; k += p) {
          const s = shares(heat[k][l])[e];
          if (s <= 0) {
            prev = NaN;
            continue;
          }
          const d = Math.log(s / mu);
          ss += d * d;
          n++;
          if (!Number.isNaN(prev)) {
            c01 += d * prev;
            c00 += d * d;
          }
          prev = d;
        }
      }
    }
  }
  // each phase's mean spends one episode per expert: n − (number of means) degrees of freedom
  const perPhase = heat.length / p;
  return { sigma: Math.sqrt((ss / n) * (perPhase / (perPhase - 1))), lag1: c00 > 0 ? c01 / c00 : 0 };
}

/** K episodes in the seen phase order, each its phase's levels times lognormal noise of mean 1. */
function draw(means: Float64Array[][], p: number, K: number, sigma: number, z: () => number): HeatEpisodes {
  return Array.from({ length: K }, (_, k) =>
    means[k % p].map((m) => m.map((x) => x * Math.exp(sigma * z() - (sigma * sigma) / 2))),
  );
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function main(): void {
  const names = readdirSync(TRACES)
    .filter((f) => f.startsWith('phase') && f.endsWith('.json') && !f.endsWith('.future.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
  const noiseRows: string[] = [];
  const realRows: string[] = [];
  const synthRows: string[] = [];
  for (const name of names) {
    const input = heatFileToInput(JSON.parse(readFileSync(join(TRACES, `${name}.json`), 'utf8')));
    const future = toHeatEpisodes(JSON.parse(readFileSync(join(TRACES, `${name}.future.json`), 'utf8')).heat);
    const { numRanks: R, slotsPerRank: S } = input.shape;
    const current = input.current;
    const K = input.heat.length;
    const p = period(input.heat);
    const seenMeans = phaseMeans(input.heat, p);
    const futureMeans = phaseMeans(future, p);
    const noise = fitNoise(input.heat, p, seenMeans);
    // how far the seen phase means are from the next interval's: z of each (layer, phase, expert) difference
    let zsq = 0, zn = 0;
    const fNoise = fitNoise(future, p, futureMeans);
    for (let ph = 0; ph < p; ph++)
      for (let l = 0; l < seenMeans[ph].length; l++)
        for (let e = 0; e < seenMeans[ph][l].length; e++) {
          const a = seenMeans[ph][l][e], b = futureMeans[ph][l][e];
          if (a <= 0 || b <= 0) continue;
          const se = Math.sqrt((noise.sigma ** 2 + fNoise.sigma ** 2) / (K / p));
          zsq += (Math.log(b / a) / se) ** 2;
          zn++;
        }
    noiseRows.push(
      `| ${name} | ${p} | ${K / p} | ${noise.sigma.toFixed(3)} | ${noise.lag1.toFixed(3)} | ${(zsq / zn).toFixed(2)} |`,
    );

    const plan = (pol: string, heat: HeatEpisodes = input.heat, options = {}): number[][] =>
      getPolicy(pol)({ ...input, heat, options } as PolicyInput).physicalToLogical;
    const greedyMap = plan('greedy');
    const transfers = (m: number[][]): number => (current ? m.reduce((s, row, l) => s + layerTransfers(current[l], row, S), 0) : 0);
    const gT = transfers(greedyMap);
    const excessOn = (eps: HeatEpisodes) => {
      const g = meanEpisodeImbalance(greedyMap, eps, R, S) - 1;
      return (m: number[][]): number => (meanEpisodeImbalance(m, eps, R, S) - 1) / g;
    };
    const onFuture = excessOn(future);
    // the yardstick: baseline.py's classic two-stage greedy, planned from the same seen interval
    const basePath = join(mkdtempSync(join(tmpdir(), 'eplb-limit-')), 'baseline.json');
    execFileSync('python3', [join(TOOLS, 'baseline.py'), join(TRACES, `${name}.json`), basePath]);
    const baseMap = JSON.parse(readFileSync(basePath, 'utf8')).physical_to_logical as number[][];
    const baseExcess = meanEpisodeImbalance(baseMap, future, R, S) - 1;
    const baseT = transfers(baseMap);
    const defaultMap = plan('default');
    const flashMap = plan('flash');
    const rows: [string, number[][]][] = [
      ['default (sees the seen interval)', defaultMap],
      ['flash (sees the seen interval)', flashMap],
      ['flash given the next interval\'s phase means (hindsight)', plan('flash', futureMeans.map((ph) => ph))],
      ['flash given every next episode (hindsight, noise known)', plan('flash', future, { maxShots: 0 })],
    ];
    for (const [label, m] of rows) {
      const ex = meanEpisodeImbalance(m, future, R, S) - 1;
      realRows.push(
        `| ${name} | ${label} | ${pct(onFuture(m))} | ${gT > 0 ? pct(transfers(m) / gT) : '-'} | ${pct(ex / baseExcess)} | ${baseT > 0 ? pct(transfers(m) / baseT) : '-'} |`,
      );
    }

    // synthetic: the seen phase means are the truth, the noise is the fitted one
    const z = normals(20261123);
    const synthFuture = draw(seenMeans, p, DRAWS * p, noise.sigma, z);
    const onSynth = excessOn(synthFuture);
    synthRows.push(
      `| ${name} | default, planned from the seen interval (whose means are the truth here) | ${pct(onSynth(defaultMap))} |`,
      `| ${name} | flash, planned from the seen interval | ${pct(onSynth(flashMap))} |`,
      `| ${name} | flash, planned from the true phase means | ${pct(onSynth(plan('flash', seenMeans)))} |`,
      // noise-aware: the expected peak over other drawn episodes instead of the peak of the means
      `| ${name} | flash, planned from the true phase means and the noise (on ${DRAWS} other drawn episodes per phase) | ${pct(onSynth(plan('flash', draw(seenMeans, p, DRAWS * p, noise.sigma, z), { maxShots: 0 })))} |`,
    );
    // the cost of estimating: seen intervals of K episodes drawn from the truth, planned from
    const est: Record<string, number[]> = { default: [], flash: [] };
    for (let s = 0; s < SEEDS; s++) {
      const seen = draw(seenMeans, p, K, noise.sigma, z);
      for (const pol of Object.keys(est)) est[pol].push(onSynth(plan(pol, seen)));
    }
    for (const pol of Object.keys(est)) {
      const xs = est[pol];
      synthRows.push(
        `| ${name} | ${pol}, planned from a drawn seen interval of ${K} episodes (mean of ${SEEDS}: ${xs.map(pct).join(', ')}) | ${pct(xs.reduce((a, b) => a + b, 0) / xs.length)} |`,
      );
    }
  }
  const body = [
    `Command: \`npm run bench:policy-limit\` (bench/policy-limit.bench.ts). Machine: ${machine()}.`,
    '',
    'What the per-episode noise of the alternating traces leaves to any map planned before the interval (the issue\'s',
    'target there: ≤ 40% of the greedy\'s excess with ≤ 1/3 of its transfers). Excess = (future − 1) / (greedy future − 1)',
    'on the same episodes, greedy planned from the seen interval: our greedy (never two replicas of one expert on a rank)',
    'unless said otherwise; on the real next interval also baseline.py, the classic two-stage greedy docs/design.md\'s targets',
    'are set against.',
    '',
    'The noise, fitted on the seen interval (phase = episode index mod period; σ = per-episode sd of log(share / phase mean);',
    'lag-1 = autocorrelation of those deviations from one episode of a phase to its next, about −1/n when nothing carries',
    'over (n episodes per phase: −0.125 for 8); mean z² = squared difference of',
    'log phase means, seen vs next interval, over its standard error (1 when the means do not move between intervals)):',
    '',
    '| trace | period | episodes per phase | σ | lag-1 | mean z² seen → next |',
    '|---|---:|---:|---:|---:|---:|',
    ...noiseRows,
    '',
    'On the real next interval:',
    '',
    '| trace | plan | excess vs our greedy | % of its transfers | excess vs baseline.py | % of its transfers |',
    '|---|---|---:|---:|---:|---:|',
    ...realRows,
    '',
    `On ${DRAWS} synthetic episodes per phase drawn around the seen phase means with the fitted σ (lognormal, mean 1):`,
    '',
    '| trace | plan | excess vs our greedy |',
    '|---|---|---:|',
    ...synthRows,
    '',
  ].join('\n');
  writeSection('Placement limit on alternating heat (`npm run bench:policy-limit`)', body);
  process.stdout.write(`${body}\n`);
}

main();
