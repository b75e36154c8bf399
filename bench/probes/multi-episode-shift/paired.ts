/**
 * Probe (not a bench of record): two builds of the default policy compared cut by cut on
 * bench:policy-heldout's cuts. Each build's judgements are written by the bench
 * (`BENCH_HELDOUT_PER_CUT=<file>`); per set, for the cuts both files hold: how many cuts the second
 * build leaves less / more excess on the next window than the first (excess against our greedy,
 * as the bench reads it; ties within 1e-9), the mean and largest change of that excess, the mean
 * transfer share of each, and the cuts that meet their target under one build only.
 *
 *   BENCH_HELDOUT_ONLY=episodes BENCH_HELDOUT_PER_CUT=/tmp/a.json npm run bench:policy-heldout   (first build)
 *   BENCH_HELDOUT_ONLY=episodes BENCH_HELDOUT_PER_CUT=/tmp/b.json npm run bench:policy-heldout   (second build)
 *   node -r @swc-node/register bench/probes/multi-episode-shift/paired.ts /tmp/a.json /tmp/b.json
 *
 * With one file, each `-episodes` set (second) is paired with its summed set (first) on the cuts
 * both hold (the same window, seen summed or with its episodes kept apart): the policy's one-window
 * rule against its held-out test on the same traffic.
 *
 *   BENCH_HELDOUT_ONLY='^(qwen|router)-' BENCH_HELDOUT_PER_CUT=/tmp/a.json npm run bench:policy-heldout
 *   node -r @swc-node/register bench/probes/multi-episode-shift/paired.ts /tmp/a.json
 */
import { readFileSync } from 'node:fs';
import { PerCut, excessOver, transferShare } from '../../lib/policy-judge';

const EPISODES = '-episodes';
/** Cuts keyed by set and cut; `summedKey` files an `-episodes` set's cuts under its summed set's name. */
const read = (file: string, summedKey = false): Map<string, PerCut> =>
  new Map((JSON.parse(readFileSync(file, 'utf8')) as PerCut[]).map((c) => [`${summedKey ? c.set.replace(EPISODES, '') : c.set}\u0000${c.cut}`, c]));
const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');
const signedPt = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} pt` : '-');

function main(): void {
  const [fa, fb] = process.argv.slice(2);
  if (!fa) throw new Error('usage: paired.ts FIRST.json [SECOND.json]');
  const across = !fb;
  const b = across ? new Map([...read(fa, true)].filter(([, c]) => c.set.endsWith(EPISODES))) : read(fb);
  const a = across ? new Map([...read(fa)].filter(([, c]) => !c.set.endsWith(EPISODES))) : read(fa);
  const sets = [...new Set([...a.values()].map((c) => c.set))].filter((set) => [...b.keys()].some((k) => k.startsWith(`${set}\u0000`)));
  const rows = ['| set | kind | cuts | second less excess / more / tie | excess change mean / largest rise / largest fall | transfers share first / second | met first / second | met by one only (first, second) |', '|---|---|---:|---|---|---|---|---|'];
  for (const set of sets) {
    const pairs = [...a.values()].filter((c) => c.set === set && b.has(`${c.set}\u0000${c.cut}`)).map((c) => [c, b.get(`${c.set}\u0000${c.cut}`)!] as const);
    const d = pairs.map(([x, y]) => excessOver(y.fut, y.greedyFut) - excessOver(x.fut, x.greedyFut)).filter(Number.isFinite);
    const less = pairs.filter(([x, y]) => y.fut < x.fut - 1e-9).length;
    const more = pairs.filter(([x, y]) => y.fut > x.fut + 1e-9).length;
    const share = (c: PerCut): number => transferShare(c.transfers, c.greedyTransfers);
    rows.push(
      `| ${set} | ${pairs[0]?.[0].kind ?? '-'} | ${pairs.length} | ${less} / ${more} / ${pairs.length - less - more} | ` +
        `${signedPt(mean(d))} / ${signedPt(d.length ? Math.max(...d) : NaN)} / ${signedPt(d.length ? Math.min(...d) : NaN)} | ` +
        `${pct(mean(pairs.map(([x]) => share(x)).filter(Number.isFinite)))} / ${pct(mean(pairs.map(([, y]) => share(y)).filter(Number.isFinite)))} | ` +
        `${pairs.filter(([x]) => x.met).length} / ${pairs.filter(([, y]) => y.met).length} | ` +
        `${pairs.filter(([x, y]) => x.met && !y.met).length}, ${pairs.filter(([x, y]) => !x.met && y.met).length} |`,
    );
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main();
