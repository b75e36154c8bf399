import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnswerQueue, AnswerSocket } from './answer-queue';

/** A served connection that records its writes. */
function fakeSocket(): AnswerSocket & { writes: string[] } {
  const s = {
    destroyed: false,
    writes: [] as string[],
    write(data: Buffer) {
      s.writes.push(data.toString());
      return true;
    },
    destroy() {
      s.destroyed = true;
    },
  };
  return s;
}

describe('AnswerQueue', () => {
  afterEach(() => void vi.useRealTimers());

  it('writes every answer due now in one write, in request order, and counts what it sent', () => {
    const socket = fakeSocket();
    const traffic = { sent: 0, fetches: 0, answers: 0 };
    const q = new AnswerQueue(socket, traffic);
    q.push(0, Buffer.from('a'), 10, 1);
    q.push(0, Buffer.from('b'), 20, 2);
    expect(socket.writes).toEqual([]);
    q.flush();
    expect(socket.writes).toEqual(['ab']);
    expect(traffic).toEqual({ sent: 30, fetches: 3, answers: 2 });
  });

  it('holds an answer until the throttle lets it go, and those queued after it behind it', () => {
    vi.useFakeTimers();
    const socket = fakeSocket();
    const traffic = { sent: 0, fetches: 0, answers: 0 };
    const q = new AnswerQueue(socket, traffic);
    q.push(0, Buffer.from('a'), 1, 1);
    q.push(50, Buffer.from('b'), 1, 1);
    q.push(0, Buffer.from('c'), 1, 1); // a refusal, say: no wait of its own, still after b
    q.flush();
    expect(socket.writes).toEqual(['a']);
    vi.advanceTimersByTime(49);
    expect(socket.writes).toEqual(['a']);
    vi.advanceTimersByTime(1);
    expect(socket.writes).toEqual(['a', 'bc']);
    expect(traffic.sent).toBe(3);
  });

  it('an injected drop sends what was due before it and destroys the connection; nothing after it goes', () => {
    const socket = fakeSocket();
    const traffic = { sent: 0, fetches: 0, answers: 0 };
    const q = new AnswerQueue(socket, traffic);
    q.push(0, Buffer.from('a'), 1, 1);
    q.push(0, null);
    q.push(0, Buffer.from('b'), 1, 1);
    q.flush();
    expect(socket.writes).toEqual(['a']);
    expect(socket.destroyed).toBe(true);
    expect(traffic.sent).toBe(1);
  });

  it('close drops the answers still waiting', () => {
    vi.useFakeTimers();
    const socket = fakeSocket();
    const q = new AnswerQueue(socket, { sent: 0, fetches: 0, answers: 0 });
    q.push(20, Buffer.from('a'), 1, 1);
    q.flush();
    q.close();
    vi.advanceTimersByTime(100);
    expect(socket.writes).toEqual([]);
  });
});
