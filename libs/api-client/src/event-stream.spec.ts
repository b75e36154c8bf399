import { describe, expect, it } from 'vitest';
import { readEventStream, ServerSentEvent } from './event-stream';

const streamOf = (...chunks: string[]): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      c.close();
    },
  });

async function all(body: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  for await (const e of readEventStream(body)) out.push(e);
  return out;
}

describe('readEventStream', () => {
  it('reads named events across chunk boundaries, skipping comments and ids', async () => {
    expect(await all(streamOf('event: rollout\nid: 1\nda', 'ta: {"a":1}\n\n: keep-alive\n\nevent:heat\r\ndata: 2\r\n\r\n'))).toEqual([
      { event: 'rollout', data: '{"a":1}' },
      { event: 'heat', data: '2' },
    ]);
  });

  it('joins data lines and names an unnamed event message; an unfinished event at the end is dropped', async () => {
    expect(await all(streamOf('data: a\ndata: b\n\ndata: cut off'))).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
