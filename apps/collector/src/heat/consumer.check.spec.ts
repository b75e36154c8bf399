import { describe, expect, it } from 'vitest';
import { HeatConsumerCheck } from './consumer.check';
import type { HeatDeadLetters } from './heat-dead-letters';
import type { HeatIngestService } from './heat-ingest.service';

describe('HeatConsumerCheck', () => {
  const setup = () => {
    const ingest = { joined: false, storeFailing: null, consumerStopped: null } as Pick<HeatIngestService, 'joined' | 'storeFailing' | 'consumerStopped'>;
    const deadLetters = { failing: null } as Pick<HeatDeadLetters, 'failing'>;
    return { ingest, deadLetters, check: new HeatConsumerCheck(ingest as HeatIngestService, deadLetters as HeatDeadLetters) };
  };

  it('is ready once joined, while batches are stored and dead letters sent', async () => {
    const { ingest, check } = setup();
    await expect(check.check()).rejects.toThrow('has not joined its group yet');
    ingest.joined = true;
    await expect(check.check()).resolves.toBeUndefined();
  });

  it('says why heat is held back: a store that fails, dead letters not sent, a consumer the client gave up on', async () => {
    const { ingest, deadLetters, check } = setup();
    ingest.joined = true;
    ingest.storeFailing = 'heat not stored: Connection terminated unexpectedly';
    await expect(check.check()).rejects.toThrow('heat not stored: Connection terminated unexpectedly (retrying)');
    ingest.storeFailing = null;
    deadLetters.failing = 'dead letters not sent: broker unreachable';
    await expect(check.check()).rejects.toThrow('dead letters not sent: broker unreachable (retrying)');
    deadLetters.failing = null;
    ingest.consumerStopped = 'the heat consumer stopped for good: Group authorization failed';
    await expect(check.check()).rejects.toThrow('the heat consumer stopped for good: Group authorization failed');
  });
});
