/**
 * `node -r @swc-node/register bench/profile-summary.ts FILE.cpuprofile`: where a collector's CPU
 * went, from a profile `INGEST_PROFILE=DIR npm run bench:ingest` wrote — the share of busy
 * samples (idle left out) whose stack passes through each part of the ingest path (a sample
 * counts once per part; parts can nest), and the top functions by self time.
 */
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const PARTS: Record<string, RegExp> = {
  'kafkajs: fetch and record decoding': /node_modules\/kafkajs\//,
  'JSON text to objects (readJson)': /^readJson$/,
  'v1 checks (quickAccept, checkAgainstDeployment)': /^(quickAccept|checkAgainstDeployment|heatTimeProblem)$/,
  'v2 rows (decodeHeatEventV2)': /^decodeHeatEventV2$/,
  'episodes: offer and attribution (offer, add, map lookup)': /^(offer|add|admit)$/,
  'Postgres client (pg, typeorm)': /node_modules\/(pg|pg-protocol|typeorm)\//,
  'dead letters': /heat-dead-letters/,
};

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

let busy = 0;
const parts = new Map<string, number>();
const self = new Map<string, number>();
for (const [id, us] of selfUs) {
  const leaf = byId.get(id)!;
  if (leaf.callFrame.functionName === '(idle)') continue;
  busy += us;
  const name = `${leaf.callFrame.functionName || '(anonymous)'} ${leaf.callFrame.url.replace(/.*\/(node_modules|dist)\//, '$1/')}:${leaf.callFrame.lineNumber}`;
  self.set(name, (self.get(name) ?? 0) + us);
  const hit = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { functionName, url } = byId.get(cur)!.callFrame;
    for (const [part, re] of Object.entries(PARTS)) if (re.test(functionName) || re.test(url)) hit.add(part);
  }
  for (const part of hit) parts.set(part, (parts.get(part) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / busy).toFixed(1)}%`;
process.stdout.write(`busy: ${(busy / 1e6).toFixed(1)} s of samples\n\n| part of the ingest path | share of busy samples |\n|---|---:|\n`);
for (const [part, us] of [...parts].sort((a, b) => b[1] - a[1])) process.stdout.write(`| ${part} | ${pct(us)} |\n`);
process.stdout.write(`\n| function (self time) | share |\n|---|---:|\n`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stdout.write(`| \`${name}\` | ${pct(us)} |\n`);
