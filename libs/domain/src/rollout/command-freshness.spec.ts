import { describe, expect, it } from 'vitest';
import { admitCommandOrder } from './command-freshness';

describe('admitCommandOrder', () => {
  const now = 1_000_000;
  const cmd = (generation: number, rolloutSeq: number, expiresAt = now + 1, sentAt = now - 1) => ({ generation, rolloutSeq, expiresAt, sentAt });

  it('takes the first command and remembers its order', () => {
    expect(admitCommandOrder(null, cmd(3, 2), now)).toEqual({ fresh: true, newest: { generation: 3, rolloutSeq: 2 } });
  });

  it('refuses an expired command, whatever its order', () => {
    expect(admitCommandOrder(null, cmd(3, 2, now), now)).toEqual({ fresh: false, why: 'expired 0 ms ago' });
    expect(admitCommandOrder({ generation: 1, rolloutSeq: 1 }, cmd(9, 9, now - 5), now)).toEqual({ fresh: false, why: 'expired 5 ms ago' });
  });

  it('refuses an older lock holder and an older rollout, whichever holder signed it', () => {
    expect(admitCommandOrder({ generation: 4, rolloutSeq: 2 }, cmd(3, 5), now)).toEqual({ fresh: false, why: 'fence generation 3 is older than 4' });
    expect(admitCommandOrder({ generation: 4, rolloutSeq: 2 }, cmd(4, 1), now)).toEqual({ fresh: false, why: 'rollout #1 is older than #2' });
    expect(admitCommandOrder({ generation: 4, rolloutSeq: 2 }, cmd(5, 1), now)).toEqual({ fresh: false, why: 'rollout #1 is older than #2' });
  });

  it('takes the same rollout again (its other layers, resends) and newer ones: a new holder resuming the rollout in flight', () => {
    expect(admitCommandOrder({ generation: 4, rolloutSeq: 2 }, cmd(4, 2), now)).toEqual({ fresh: true, newest: { generation: 4, rolloutSeq: 2 } });
    expect(admitCommandOrder({ generation: 4, rolloutSeq: 2 }, cmd(5, 2), now)).toEqual({ fresh: true, newest: { generation: 5, rolloutSeq: 2 } });
    expect(admitCommandOrder({ generation: 4, rolloutSeq: 2 }, cmd(4, 3), now)).toEqual({ fresh: true, newest: { generation: 4, rolloutSeq: 3 } });
  });

  it('without a record of what it took, refuses commands sent before it started (a restart without state); with one, the order decides', () => {
    expect(admitCommandOrder(null, cmd(3, 2, now + 1, now - 100), now, now - 50)).toEqual({ fresh: false, why: 'sent 50 ms before this agent started, with no record of what it took before' });
    expect(admitCommandOrder(null, cmd(3, 2, now + 1, now - 10), now, now - 50).fresh).toBe(true);
    expect(admitCommandOrder({ generation: 3, rolloutSeq: 2 }, cmd(3, 2, now + 1, now - 100), now, now - 50).fresh).toBe(true);
  });
});
