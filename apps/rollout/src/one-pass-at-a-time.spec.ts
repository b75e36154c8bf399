import { describe, expect, it } from 'vitest';
import { OnePassAtATime } from './one-pass-at-a-time';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

describe('OnePassAtATime', () => {
  it('gives a call made while a pass runs that pass, and starts a new one after it ended', async () => {
    const passes: ReturnType<typeof deferred>[] = [];
    const p = new OnePassAtATime(
      () => {
        passes.push(deferred());
        return passes.at(-1)!.promise;
      },
      () => undefined,
    );
    const a = p.run();
    const b = p.run();
    expect(a).toBe(b);
    expect(passes).toHaveLength(1);
    passes[0].resolve();
    await a;
    void p.run();
    expect(passes).toHaveLength(2);
    passes[1].resolve();
    await p.drain();
  });

  it('hands a failed pass to its handler and never rejects; drain waits for the pass under way', async () => {
    const failures: string[] = [];
    const d = deferred();
    const p = new OnePassAtATime(() => d.promise, (e) => failures.push(e.message));
    const run = p.run();
    let drained = false;
    const drain = p.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    d.reject(new Error('database gone'));
    await expect(run).resolves.toBeUndefined();
    await drain;
    expect(failures).toEqual(['database gone']);
    await expect(p.drain()).resolves.toBeUndefined();
  });
});
