import { z } from 'zod';
import { firstIssue, readJson } from '../parse';

/**
 * Rollout protocol on Kafka (issue 6), validated at the edge like `eplb.heat.v1`:
 * - `eplb.rollout.commands.v1` (rollout service → agents), key = deployment id: one machine
 *   command (prepare with the agent's plan part, commit, abort) addressed to one agent (node).
 *   Every agent of the deployment reads the topic (its own consumer group) and acts only on
 *   commands addressed to its node and its own ranks.
 * - `eplb.rollout.acks.v1` (agents → rollout service), key = deployment id: an ack (commit acks
 *   carry what the ranks hold after the swap, checksums of the bytes) or an agent's holdings
 *   report (on start: which version each layer is on, per rank).
 * Field names follow the state machine of `@eplb/domain` (RolloutAgentCommand, RolloutAck).
 */
const deploymentId = z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a deployment id (lowercase letters, digits, . _ - )');
const nat = z.number().int().nonnegative();
const rolloutId = z.string().min(1).max(128);

const receive = z.strictObject({ slot: nat, expert: nat, source: nat, link: z.enum(['local', 'node', 'remote']) });
const send = z.strictObject({ fromRank: nat, toRank: nat, slot: nat, expert: nat, link: z.enum(['local', 'node', 'remote']) });

export const agentPlanPartSchema = z.strictObject({
  layer: nat,
  agent: nat,
  ranks: z.array(nat).min(1),
  version: z.number().int().positive(),
  row: z.array(nat).min(1),
  receives: z.array(receive),
  sends: z.array(send),
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
});

export const rolloutCommandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('prepare'), layer: nat, attempt: z.number().int().positive(), agent: nat, part: agentPlanPartSchema, bytesPerSecond: z.number().positive().optional(), repair: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('commit'), layer: nat, attempt: z.number().int().positive(), agent: nat, ranks: z.array(nat).min(1) }),
  z.strictObject({ kind: z.literal('abort'), layer: nat, attempt: z.number().int().positive(), agent: nat, ranks: z.array(nat).min(1) }),
]);

export const rolloutCommandV1Schema = z.strictObject({
  v: z.literal(1),
  deployment: deploymentId,
  rolloutId,
  command: rolloutCommandSchema,
  /** Milliseconds since the epoch when the service sent it (for latency figures only). */
  sentAt: z.number().int().nonnegative(),
});
export type RolloutCommandV1 = z.infer<typeof rolloutCommandV1Schema>;

const rankHoldings = z.strictObject({ rank: nat, experts: z.array(nat), checksums: z.array(z.string().max(128)) });
export const layerHoldingsSchema = z.strictObject({ layer: nat, version: z.number().int().positive(), ranks: z.array(rankHoldings) });

export const rolloutAckSchema = z.strictObject({
  rolloutId,
  layer: nat,
  attempt: z.number().int().positive(),
  agent: nat,
  ranks: z.array(nat),
  phase: z.enum(['prepare', 'commit', 'abort']),
  ok: z.boolean(),
  error: z.string().max(2000).optional(),
  holdings: layerHoldingsSchema.optional(),
});

export const rolloutAckV1Schema = z.discriminatedUnion('type', [
  z.strictObject({ v: z.literal(1), type: z.literal('ack'), deployment: deploymentId, node: nat, ack: rolloutAckSchema, sentAt: z.number().int().nonnegative() }),
  /** What an agent's ranks hold (per layer: version and logical expert per slot; checksums optional). */
  z.strictObject({ v: z.literal(1), type: z.literal('holdings'), deployment: deploymentId, node: nat, ranks: z.array(nat), layers: z.array(layerHoldingsSchema), sentAt: z.number().int().nonnegative() }),
  /** An agent is alive (sent every few seconds on the control channel, else on Kafka). */
  z.strictObject({ v: z.literal(1), type: z.literal('heartbeat'), deployment: deploymentId, node: nat, ranks: z.array(nat), sentAt: z.number().int().nonnegative() }),
]);
export type RolloutAckV1 = z.infer<typeof rolloutAckV1Schema>;

export type RolloutParse<T> = { ok: true; message: T } | { ok: false; reason: string };

function parseWith<T>(schema: z.ZodType<T>, raw: Buffer | string | null): RolloutParse<T> {
  const read = readJson(raw);
  if (!read.ok) return read;
  const parsed = schema.safeParse(read.json);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, reason: firstIssue(parsed.error) };
}

/** Parses a command message; the reason names the first offending field. */
export const parseRolloutCommand = (raw: Buffer | string | null): RolloutParse<RolloutCommandV1> => parseWith(rolloutCommandV1Schema, raw);
/** Parses an ack or holdings message; the reason names the first offending field. */
export const parseRolloutAck = (raw: Buffer | string | null): RolloutParse<RolloutAckV1> => parseWith(rolloutAckV1Schema, raw);

/**
 * The first line an agent sends on the direct control channel (libs/messaging ControlChannel):
 * its token (role agent or operator) and what it serves. The service answers `welcome` or
 * `refused` with the reason; after that the channel carries the same command and ack messages as
 * the Kafka topics.
 */
export const agentHelloV1Schema = z.strictObject({
  v: z.literal(1),
  type: z.literal('hello'),
  token: z.string().min(1).max(512),
  deployment: deploymentId,
  node: nat,
  ranks: z.array(nat).min(1),
  /** Free text for logs and the audit trail (host, pid, version). */
  agent: z.string().max(256).optional(),
});
export type AgentHelloV1 = z.infer<typeof agentHelloV1Schema>;
export const parseAgentHello = (raw: Buffer | string | null): RolloutParse<AgentHelloV1> => parseWith(agentHelloV1Schema, raw);
