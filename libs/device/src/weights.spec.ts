import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checksum, expertWeights } from './weights';

describe('checksum', () => {
  it('is the hex sha256 of the bytes, for empty, small and expert-sized buffers and for views into a larger one', () => {
    const whole = expertWeights(3, 7, 40_000);
    for (const b of [Buffer.alloc(0), expertWeights(0, 1, 16), whole, whole.subarray(16, 48)]) {
      expect(checksum(b)).toBe(createHash('sha256').update(b).digest('hex'));
    }
  });
});
