/**
 * `node -r @swc-node/register bench/control-message.bench.ts`: the CPU one control-channel message
 * costs its two ends, per message, Ed25519 signatures with zod parsing (Kafka's way, and the
 * control channel's before its session MACs) beside the session's HMAC with the hand-written
 * checks — for bench:rollout's messages (a prepare of one agent's part of a 320-slot layer, and a
 * commit ack with its 8 ranks' holdings). Both ways in one process, alternated: on a shared
 * machine the ratio holds where absolute figures do not.
 */
import { generateKeyPairSync } from 'node:crypto';
import { loadavg } from 'node:os';
import {
  agentSession,
  deriveSessionKeys,
  newEphemeralKey,
  parseRolloutAck,
  parseRolloutCommand,
  rolloutAckV1Schema,
  rolloutCommandV1Schema,
  serviceSession,
  signRolloutMessage,
  verifyRolloutMessage,
} from '@eplb/contracts';
import { machine } from './lib/machine';

const R = 64, S = 5, P = R * S, AGENT = 3, RANKS = Array.from({ length: 8 }, (_, i) => AGENT * 8 + i);
const binding = { v: 1, deployment: 'bench', rolloutId: '6f1c2a4e-0000-4000-8000-000000000000', rolloutSeq: 7, generation: 12, expiresAt: Date.now() + 60_000, sentAt: Date.now() };
const part = {
  layer: 17,
  agent: AGENT,
  ranks: RANKS,
  version: 2,
  row: Array.from({ length: P }, (_, p) => (p * 7) % 256),
  receives: RANKS.flatMap((r) => Array.from({ length: S }, (_, j) => ({ slot: r * S + j, expert: (r * 11 + j) % 256, source: ((r + 9) % R) * S + j, link: 'remote' }))),
  sends: RANKS.flatMap((r) => Array.from({ length: S }, (_, j) => ({ fromRank: r, toRank: (r + 55) % R, slot: ((r + 55) % R) * S + j, expert: (r * 13 + j) % 256, link: 'remote' }))),
  bytesIn: 640,
  bytesOut: 640,
};
const prepare = JSON.stringify({ ...binding, command: { kind: 'prepare', layer: 17, attempt: 1, agent: AGENT, part } });
const ack = JSON.stringify({
  v: 1,
  type: 'ack',
  deployment: 'bench',
  node: AGENT,
  generation: 12,
  sentAt: Date.now(),
  expiresAt: Date.now() + 60_000,
  ack: { rolloutId: binding.rolloutId, layer: 17, attempt: 1, agent: AGENT, ranks: RANKS, phase: 'commit', ok: true, holdings: { layer: 17, version: 2, ranks: RANKS.map((rank) => ({ rank, experts: [1, 2, 3, 4, 5], checksums: Array.from({ length: S }, (_, j) => `${rank}${j}`.padStart(16, 'f')) })) } },
});

const service = generateKeyPairSync('ed25519');
const agent = generateKeyPairSync('ed25519');
const [ae, se] = [newEphemeralKey(), newEphemeralKey()];
const agentEnd = agentSession(deriveSessionKeys(ae.privateKey, se.publicText, ae.publicText, se.publicText));
const serviceEnd = serviceSession(deriveSessionKeys(se.privateKey, ae.publicText, ae.publicText, se.publicText));

/** One message sent and taken by its receiver, each way. */
const signedWay = {
  command: () => {
    const sig = signRolloutMessage(service.privateKey, prepare);
    if (!verifyRolloutMessage(service.publicKey, prepare, sig) || !rolloutCommandV1Schema.safeParse(JSON.parse(prepare)).success) throw new Error('refused');
  },
  ack: () => {
    const sig = signRolloutMessage(agent.privateKey, ack);
    if (!verifyRolloutMessage(agent.publicKey, ack, sig) || !rolloutAckV1Schema.safeParse(JSON.parse(ack)).success) throw new Error('refused');
  },
};
const sessionWay = {
  command: () => {
    const opened = agentEnd.opener.open(serviceEnd.sealer.seal(prepare));
    if (!opened.ok || !parseRolloutCommand(opened.value).ok) throw new Error('refused');
  },
  ack: () => {
    const opened = serviceEnd.opener.open(agentEnd.sealer.seal(ack));
    if (!opened.ok || !parseRolloutAck(opened.value).ok) throw new Error('refused');
  },
};

function time(f: () => void, n: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

const N = 2000;
const results = { signed: { command: [] as number[], ack: [] as number[] }, session: { command: [] as number[], ack: [] as number[] } };
for (let round = 0; round < 6; round++) {
  for (const k of ['command', 'ack'] as const) {
    const s = time(signedWay[k], N);
    const m = time(sessionWay[k], N);
    if (round > 0) {
      results.signed[k].push(s);
      results.session[k].push(m);
    }
  }
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stdout.write(`${machine()}; load ${loadavg().map((x) => x.toFixed(1)).join(' / ')}; prepare ${prepare.length} B, commit ack ${ack.length} B\n`);
process.stdout.write('| message (both ends) | Ed25519 + zod µs CPU | session MAC + checks µs CPU | ratio |\n|---|---:|---:|---:|\n');
for (const k of ['command', 'ack'] as const) {
  const [s, m] = [median(results.signed[k]), median(results.session[k])];
  process.stdout.write(`| ${k === 'command' ? 'prepare command' : 'commit ack'} | ${s.toFixed(0)} | ${m.toFixed(0)} | ${(s / m).toFixed(1)} |\n`);
}
