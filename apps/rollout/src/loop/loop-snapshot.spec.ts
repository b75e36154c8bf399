import { describe, expect, it } from 'vitest';
import type { RolloutEvent } from '@eplb/domain';
import { gatesJudged } from './loop-snapshot';

const analyse = (batch: number) => ({ type: 'decided', at: 1, commands: [{ kind: 'analyse', batch, layers: [0] }] }) as unknown as RolloutEvent;
const verdict = (batch: number) => ({ type: 'analysis', at: 2, batch, passed: true }) as RolloutEvent;

describe('gatesJudged', () => {
  it('is true with no gate, or when every gate asked for gave its verdict', () => {
    expect(gatesJudged([])).toBe(true);
    expect(gatesJudged([analyse(0), verdict(0)])).toBe(true);
  });
  it('is false while a gate asked for has no verdict (promoted past it, or ended before)', () => {
    expect(gatesJudged([analyse(0), verdict(0), analyse(1)])).toBe(false);
  });
});
