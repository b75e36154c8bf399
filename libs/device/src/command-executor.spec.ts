import { describe, expect, it } from 'vitest';
import type { AgentPlanPart, LayerHoldings } from '@eplb/domain';
import type { DeviceBackend } from './backend';
import { CommandExecutor } from './command-executor';

/** A backend whose swaps wait for a step boundary the test releases. */
function slowSwapBackend() {
  const boundaries: (() => void)[] = [];
  let commits = 0;
  const holdings: LayerHoldings = { layer: 0, version: 2, ranks: [{ rank: 0, experts: [1], checksums: ['x'] }] };
  const backend: DeviceBackend = {
    prepare: async () => undefined,
    commit: async () => {
      commits++;
      await new Promise<void>((r) => boundaries.push(r));
    },
    abort: async () => undefined,
    describe: async () => ({ layers: [holdings] }),
  };
  return { backend, boundaries, commits: () => commits };
}

const part = { layer: 0, agent: 0, ranks: [0], version: 2, row: [1], receives: [], sends: [] } as unknown as AgentPlanPart;

describe('CommandExecutor', () => {
  it('a commit repeated while the first waits for its step boundary is not run twice; the one swap answers ok', async () => {
    const { backend, boundaries, commits } = slowSwapBackend();
    const ex = new CommandExecutor(backend, 'r', 0, [0]);
    expect(await ex.handle({ kind: 'prepare', layer: 0, attempt: 1, agent: 0, part })).toMatchObject({ phase: 'prepare', ok: true });
    const commit = { kind: 'commit' as const, layer: 0, attempt: 1, agent: 0, ranks: [0] };
    const first = ex.handle(commit);
    await new Promise((r) => setImmediate(r));
    const repeat = ex.handle(commit);
    await new Promise((r) => setImmediate(r));
    expect(commits()).toBe(1);
    expect(await repeat).toBeNull();
    for (const b of boundaries) b();
    expect(await first).toMatchObject({ phase: 'commit', ok: true });
    // once swapped, a repeat is answered from the ledger again
    expect(await ex.handle(commit)).toMatchObject({ phase: 'commit', ok: true });
    expect(commits()).toBe(1);
  });
});
