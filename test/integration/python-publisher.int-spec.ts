import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeatEventV1, parseHeatEvent, TOPICS } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';

/**
 * The Python publisher (python/eplb_heat, for vLLM / SGLang / vllm-ascend workers) against the
 * real broker: what it publishes arrives on `eplb.heat.v1`, keyed by deployment, and every event
 * passes our TS `parseHeatEvent` — the two publishers agree on the contract.
 * Needs Debian's python3-confluent-kafka for /usr/bin/python3 (scripts/python-deps.sh).
 * The Python unit tests are separate: /usr/bin/python3 -m unittest discover -s python/tests
 */
// Debian's interpreter, where apt installs python3-confluent-kafka (not a pyenv python3 on PATH).
const PYTHON = process.env.EPLB_PYTHON ?? '/usr/bin/python3';
const ROOT = resolve(__dirname, '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const python = (args: string[], input?: string): Promise<Run> =>
  new Promise((done) => {
    const child = execFile(
      PYTHON,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), PYTHONDONTWRITEBYTECODE: '1' },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });

const summaryOf = (run: Run) => JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number>;

describe('Python heat publisher → Kafka → TS contract', () => {
  const config = testConfig();
  const bootstrap = config.KAFKA_BROKERS.join(',');
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-python-publisher' });
  const deployment = `py-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'eplb-py-'));

  beforeAll(async () => {
    const probe = await python(['-c', 'import confluent_kafka']);
    if (probe.code !== 0) {
      throw new Error(
        `${PYTHON} cannot import confluent_kafka (${probe.stderr.trim().split('\n').pop()}); ` +
          'run scripts/python-deps.sh (as root: apt-get install -y python3-confluent-kafka)',
      );
    }
  });

  afterAll(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. The CLI publishes a JSON-lines file: ranks, phases, multi-step windows, a rollout.
  const lines = [
    { deployment, rank: 0, step: 0, mapVersion: 1, load: [[1, 2, 3], [4, 5, 6]] },
    { deployment, rank: 1, step: 0, mapVersion: 1, load: [[0, 0, 7], [9, 0, 1]], phase: 'prefill' },
    { deployment, rank: 0, step: 1, steps: 16, mapVersion: 2, layerVersions: [2, 1], load: [[10, 20, 30], [40, 50, 60]], phase: 'mixed' },
    { deployment, rank: 1, step: 1, mapVersion: 2, load: [[1.0, 0, 0], [0, 0, 2]], ts: '2026-01-02T03:04:05.678Z' },
  ];
  // 2. A worker-like script: the API with one DeepSeek-V3 rank shape (58 layers x 5 slots),
  //    per-step publishing and the every-4-steps accumulator.
  const workerScript = `
import json, sys
from eplb_heat import HeatPublisher, HeatAccumulator
dep, bootstrap = sys.argv[1], sys.argv[2]
L, S = 58, 5
pub = HeatPublisher(bootstrap, dep, 2, phase='decode', linger_ms=5)
for step in range(100, 150):
    pub.publish_step(step, [[(step + l * S + s) % 97 for s in range(S)] for l in range(L)], 3)
acc_pub = HeatPublisher(bootstrap, dep, 3, phase='decode')
acc = HeatAccumulator(acc_pub, every=4)
for step in range(200, 210):  # 4 + 4 + 2 (the last window flushed early)
    acc.add(step, [[1] * S for _ in range(L)], 3)
acc.flush()
left = pub.close(30) + acc_pub.close(30)
print(json.dumps({"sent": pub.sent + acc_pub.sent, "failed": pub.failed + acc_pub.failed, "undelivered": left}))
sys.exit(1 if left or pub.failed or acc_pub.failed else 0)
`;
  const expectedCount = lines.length + 50 + 3;

  it('publishes through the CLI and a worker-like script; every event arrives keyed and valid for parseHeatEvent', async () => {
    const file = join(dir, 'heat.jsonl');
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const cli = await python(['-m', 'eplb_heat', '--bootstrap', bootstrap, 'publish', file]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(summaryOf(cli)).toMatchObject({ sent: lines.length, delivered: lines.length, failed: 0, undelivered: 0, rejected: 0 });

    const worker = await python(['-c', workerScript, deployment, bootstrap]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(summaryOf(worker)).toEqual({ sent: 53, failed: 0, undelivered: 0 });

    const received: { key: string | null; raw: string }[] = [];
    const consumer = bus.consumer({ groupId: `test-python-${randomUUID()}`, topics: [TOPICS.heat], fromBeginning: true });
    await consumer.run(async (batch) => {
      for (const m of batch.messages) {
        const key = m.key?.toString() ?? null;
        const raw = m.value?.toString() ?? '';
        // Ours, by key or (should the key be wrong) by content.
        if (key === deployment || raw.includes(`"deployment":"${deployment}"`)) received.push({ key, raw });
      }
    });
    try {
      await eventually(async () => received.length >= expectedCount, 90_000);
    } finally {
      await consumer.close();
    }

    expect(received).toHaveLength(expectedCount);
    const events: HeatEventV1[] = [];
    for (const r of received) {
      expect(r.key).toBe(deployment);
      const verdict = parseHeatEvent(r.raw);
      expect(verdict, r.raw.slice(0, 200)).toMatchObject({ ok: true });
      if (!verdict.ok) continue;
      const e = verdict.event;
      // Same encoding as the TS side: compact JSON, keys in contract order, JS-style timestamps.
      expect(r.raw).toBe(JSON.stringify(e));
      expect(e.ts).toBe(new Date(e.ts).toISOString());
      events.push(e);
    }

    const byRankStep = new Map(events.map((e) => [`${e.rank}/${e.step}`, e]));
    expect(byRankStep.size).toBe(expectedCount); // no duplicates (idempotent producer)

    // The CLI's lines, field for field.
    for (const l of lines) {
      const e = byRankStep.get(`${l.rank}/${l.step}`)!;
      expect(e).toMatchObject({
        v: 1,
        deployment,
        rank: l.rank,
        step: l.step,
        steps: l.steps ?? 1,
        phase: l.phase ?? 'decode',
        mapVersion: l.mapVersion,
        layerVersions: l.layerVersions ?? null,
        load: l.load,
      });
      if (l.ts) expect(e.ts).toBe(l.ts);
      else expect(Math.abs(Date.parse(e.ts) - Date.now())).toBeLessThan(5 * 60_000);
    }

    // The worker script: per-step events of a DeepSeek-V3 rank, and accumulated windows.
    for (let step = 100; step < 150; step++) {
      const e = byRankStep.get(`2/${step}`)!;
      expect(e.load).toHaveLength(58);
      expect(e.load.every((row) => row.length === 5)).toBe(true);
      expect(e.load[57][4]).toBe((step + 57 * 5 + 4) % 97);
      expect([e.steps, e.mapVersion, e.phase]).toEqual([1, 3, 'decode']);
    }
    const windows = events.filter((e) => e.rank === 3).sort((a, b) => a.step - b.step);
    expect(windows.map((e) => [e.step, e.steps, e.load[0][0], e.load[57][4]])).toEqual([
      [200, 4, 4, 4],
      [204, 4, 4, 4],
      [208, 2, 2, 2],
    ]);
  }, 150_000);

  it('rejects an invalid line with the field named, publishes the valid ones, and exits 1', async () => {
    const bad = `bad-${deployment}`;
    const input = [
      JSON.stringify({ deployment: bad, rank: 0, step: 0, mapVersion: 1, load: [[1, -2]] }),
      JSON.stringify({ deployment: bad, rank: 0, step: 1, mapVersion: 0, load: [[1, 2]] }),
      JSON.stringify({ deployment: 'Not-An-Id', rank: 0, step: 0, mapVersion: 1, load: [[1, 2]] }),
      JSON.stringify({ deployment: bad, rank: 0, step: 2, mapVersion: 1, load: [[1, 2]] }),
    ].join('\n');
    const run = await python(['-m', 'eplb_heat', '--bootstrap', bootstrap, 'publish', '-'], input);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('line 1: load.0.1: must be a non-negative count');
    expect(run.stderr).toContain('line 2: mapVersion:');
    expect(run.stderr).toContain('line 3: deployment:');
    expect(summaryOf(run)).toMatchObject({ sent: 1, delivered: 1, rejected: 3, failed: 0, undelivered: 0 });
  });
});
