import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceBackend } from '@eplb/device';
import type { MessageBus, OutgoingMessage } from '@eplb/messaging';
import { AgentRuntime } from './agent-runtime';

/** A Kafka stand-in: the consumer is assigned at once; the producer refuses the first `failures` sends. */
function fakeBus(failures: number) {
  const sent: { type: string }[] = [];
  let refused = 0;
  const bus = {
    async producer() {
      return {
        async send(_topic: string, messages: readonly OutgoingMessage[]) {
          if (refused < failures) {
            refused++;
            throw new Error('broker not available');
          }
          for (const m of messages) sent.push(JSON.parse(String(m.value)) as { type: string });
        },
        async close() {},
      };
    },
    consumer(o: { onAssignment?: (a: Record<string, number[]>) => void }) {
      return {
        async run() {
          o.onAssignment?.({});
        },
        async close() {},
      };
    },
  };
  return { bus: bus as unknown as MessageBus, sent };
}

const backend: DeviceBackend = {
  prepare: async () => undefined,
  commit: async () => undefined,
  abort: async () => undefined,
  describe: async () => ({ layers: [{ layer: 0, version: 1, ranks: [{ rank: 0, experts: [0, 1], checksums: ['a', 'b'] }] }] }),
};

const eventually = async (probe: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(probe()).toBe(true);
};

describe('AgentRuntime', () => {
  let rt: AgentRuntime | null = null;
  afterEach(async () => rt?.close());

  it('a holdings report Kafka refused is sent again with the next heartbeat', async () => {
    // the assignment's report and the start's report both fail
    const { bus, sent } = fakeBus(2);
    rt = new AgentRuntime({ deployment: 'd', node: 0, ranks: [0], backend, bus, groupPrefix: 'g', token: 't', keys: { own: generateKeyPairSync('ed25519').privateKey, service: generateKeyPairSync('ed25519').publicKey }, heartbeatMs: 20 });
    await rt.start();
    expect(sent.filter((m) => m.type === 'holdings')).toEqual([]);
    await eventually(() => sent.some((m) => m.type === 'holdings'));
    // once out, heartbeats carry no more holdings
    const n = sent.filter((m) => m.type === 'holdings').length;
    await eventually(() => sent.filter((m) => m.type === 'heartbeat').length >= 3);
    expect(sent.filter((m) => m.type === 'holdings')).toHaveLength(n);
  });
});
