import { afterEach, describe, expect, it, vi } from 'vitest';
import { scheduleCheckPendingRequests } from './request-queue-fix';
import '../index';

const queue = (pending: number, throttledUntil: number) => {
  const q = { throttledUntil, throttleCheckTimeoutId: null as NodeJS.Timeout | null, pending: Array.from({ length: pending }), checks: 0, checkPendingRequests: () => undefined as void };
  q.checkPendingRequests = () => {
    q.checks++;
  };
  return q;
};

describe('kafkajs RequestQueue fix', () => {
  afterEach(() => vi.useRealTimers());

  it('arms no timer while nothing waits and nothing is throttled (kafkajs 2.2.4 re-armed one every millisecond)', () => {
    vi.useFakeTimers();
    const q = queue(0, -1);
    scheduleCheckPendingRequests.call(q);
    expect(q.throttleCheckTimeoutId).toBeNull();
    vi.advanceTimersByTime(1_000);
    expect(q.checks).toBe(0);
  });

  it('checks waiting requests again after 10 ms, and a throttled queue when the throttle ends', () => {
    vi.useFakeTimers();
    const waiting = queue(2, -1);
    scheduleCheckPendingRequests.call(waiting);
    vi.advanceTimersByTime(9);
    expect(waiting.checks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(waiting.checks).toBe(1);
    const throttled = queue(1, Date.now() + 250);
    scheduleCheckPendingRequests.call(throttled);
    scheduleCheckPendingRequests.call(throttled); // one timer at a time
    vi.advanceTimersByTime(249);
    expect(throttled.checks).toBe(0);
    vi.advanceTimersByTime(1);
    expect(throttled.checks).toBe(1);
  });

  it('is what kafkajs runs once @eplb/messaging is loaded', async () => {
    const RequestQueue = (await import('kafkajs/src/network/requestQueue' as string)) as { default?: { prototype: object }; prototype?: object };
    const proto = (RequestQueue.default ?? RequestQueue).prototype as { scheduleCheckPendingRequests: unknown };
    expect(proto.scheduleCheckPendingRequests).toBe(scheduleCheckPendingRequests);
  });
});
