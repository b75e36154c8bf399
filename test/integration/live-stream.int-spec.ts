import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEventStream, ServerSentEvent } from '@eplb/api-client';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/**
 * A deployment's live stream (`GET .../live`, server-sent events) outlives the request whose token
 * opened it, so it checks the token again while it runs: revoking an analyst's token ends their
 * open stream with an `end` event, while another token's stream on the same deployment goes on.
 */
describe('live stream: a revoked token ends its stream', () => {
  const config = testConfig();
  const deployment = `live-${randomUUID().slice(0, 8)}`;
  let api: RunningApp;

  beforeAll(async () => {
    api = await startApi(config);
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: deployment, shape: { layers: 2, experts: 8, ranks: 2, slotsPerRank: 4, nodes: 1 }, windows: { episodeSteps: 2, intervalSteps: 4, latenessSteps: 0 } },
    });
    expect(created.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await api?.close();
  });

  /** Opens the stream with `token` and reads it in the background: its events as they come, and when it ended. */
  const follow = async (token: string) => {
    const ctl = new AbortController();
    const res = await fetch(`${api.url}/v1/deployments/${deployment}/live`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ctl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: ServerSentEvent[] = [];
    let ended = false;
    const done = (async () => {
      try {
        for await (const e of readEventStream(res.body!)) events.push(e);
      } catch (err) {
        if (!ctl.signal.aborted) throw err;
      }
      ended = true;
    })();
    return { events, done, ended: () => ended, close: () => ctl.abort() };
  };

  it('ends the stream of a token revoked while it is open, with an end event saying why; a stream on another token stays open; the revoked token cannot reopen it', async () => {
    const issued = await http<{ id: string; token: string }>('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: `analyst-${deployment}`, role: 'analyst' } });
    expect(issued.status).toBe(201);
    const analyst = await follow(issued.body.token);
    const operator = await follow(OPERATOR);
    try {
      // each stream first says where it starts, one message per kind
      await expect.poll(() => analyst.events.map((e) => e.event).sort(), { timeout: 30_000 }).toEqual(['audit', 'heat', 'rollout']);

      const revoked = await http('POST', `${api.url}/v1/tokens/${issued.body.id}/revoke`, { token: OPERATOR, body: { reason: 'left the team' } });
      expect(revoked.status).toBe(200);
      // the stream notices at its next token check, whenever that falls (the checks are periodic)
      await analyst.done;
      const last = analyst.events.at(-1)!;
      expect(last.event).toBe('end');
      expect(JSON.parse(last.data)).toEqual({ reason: 'token revoked or expired' });
      expect(analyst.events.filter((e) => e.event === 'end')).toHaveLength(1);

      // another token's stream on the same deployment is not ended by it
      expect(operator.ended()).toBe(false);
      expect(operator.events.some((e) => e.event === 'end')).toBe(false);
      const again = await http('GET', `${api.url}/v1/deployments/${deployment}/live`, { token: issued.body.token });
      expect(again.status).toBe(401);
      expect(again.contentType).toMatch(/^application\/problem\+json/);
    } finally {
      analyst.close();
      operator.close();
      await Promise.all([analyst.done, operator.done]);
    }
  }, 120_000);
});
