import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from './format';

describe('formatting', () => {
  it('sizes bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatBytes(350 * 1024 ** 3)).toBe('350 GiB');
  });

  it('says a span in the shortest unit that reads well', () => {
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });
});
