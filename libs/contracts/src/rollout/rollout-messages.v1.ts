import { z } from 'zod';
import { deploymentIdSchema } from '../deployment-id';
import { firstIssue, readJson } from '../parse';
import { isRolloutAckV1, isRolloutCommandV1 } from './rollout-message-check';

/**
 * The rollout protocol's Kafka path (the fallback when an agent's direct control channel is down),
 * validated at the edge like `eplb.heat.v1`:
 * - `eplb.rollout.commands.v1` (rollout service → agents), key = deployment id: one machine
 *   command (prepare with the agent's plan part, commit, abort) addressed to one agent (node).
 *   Every agent of the deployment reads the topic (its own consumer group) and acts only on
 *   commands addressed to its node and its own ranks.
 * - `eplb.rollout.acks.v1` (agents → rollout service), key = deployment id: an ack (commit acks
 *   carry what the ranks hold after the swap, checksums of the bytes) or an agent's holdings
 *   report (on start: which version each layer is on, per rank).
 * Field names follow the state machine of `@eplb/domain` (RolloutAgentCommand, RolloutAck).
 */
const deploymentId = deploymentIdSchema;
const nat = z.number().int().nonnegative();
const rolloutId = z.string().min(1).max(128);

/**
 * Arrays checked in one loop each instead of one zod schema per element: a prepare part carries
 * its layer's whole row (P entries) and its receives and sends, commit acks carry checksums per
 * slot, and per-element schemas were a fifth of an agent's CPU per layer (a sampled profile of
 * bench:rollout). Same rules; the reason still names the element (`command.part.row.17: …`).
 */
type ElementCheck = (x: unknown) => { path: (string | number)[]; message: string } | null;
function arrayOf<T>(what: string, check: ElementCheck, min = 0) {
  return z
    .custom<T[]>((v) => Array.isArray(v), { message: `must be an array of ${what}` })
    .superRefine((arr, ctx) => {
      if (arr.length < min) {
        ctx.addIssue({ code: 'custom', message: `must have at least ${min} item(s)` });
        return;
      }
      for (let i = 0; i < arr.length; i++) {
        const bad = check(arr[i]);
        if (bad) {
          ctx.addIssue({ code: 'custom', message: bad.message, path: [i, ...bad.path] });
          return;
        }
      }
    });
}
const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const NOT_NAT = { path: [], message: 'must be a non-negative integer' };
const natArray = (min = 0) => arrayOf<number>('non-negative integers', (x) => (isNat(x) ? null : NOT_NAT), min);
const LINKS = ['local', 'node', 'remote'] as const;
type Link = (typeof LINKS)[number];
/** An object with exactly these non-negative integer fields and a `link`. */
function linkRecord(fields: readonly string[]): ElementCheck {
  return (x) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return { path: [], message: 'must be an object' };
    const o = x as Record<string, unknown>;
    for (const f of fields) if (!isNat(o[f])) return { path: [f], message: 'must be a non-negative integer' };
    if (!(LINKS as readonly unknown[]).includes(o.link)) return { path: ['link'], message: `must be one of ${LINKS.join(', ')}` };
    if (Object.keys(o).length !== fields.length + 1) {
      const extra = Object.keys(o).filter((k) => k !== 'link' && !fields.includes(k));
      return { path: [], message: `unrecognized key(s): ${extra.join(', ')}` };
    }
    return null;
  };
}

const receives = arrayOf<{ slot: number; expert: number; source: number; link: Link }>('receives', linkRecord(['slot', 'expert', 'source']));
const sends = arrayOf<{ fromRank: number; toRank: number; slot: number; expert: number; link: Link }>('sends', linkRecord(['fromRank', 'toRank', 'slot', 'expert']));

export const agentPlanPartSchema = z.strictObject({
  layer: nat,
  agent: nat,
  ranks: natArray(1),
  version: z.number().int().positive(),
  row: natArray(1),
  receives,
  sends,
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
});

export const rolloutCommandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('prepare'), layer: nat, attempt: z.number().int().positive(), agent: nat, part: agentPlanPartSchema, bytesPerSecond: z.number().positive().optional(), repair: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('commit'), layer: nat, attempt: z.number().int().positive(), agent: nat, ranks: natArray(1) }),
  z.strictObject({ kind: z.literal('abort'), layer: nat, attempt: z.number().int().positive(), agent: nat, ranks: natArray(1) }),
]);

/**
 * Every command is bound to its rollout (`rolloutId`, and `rolloutSeq`: its place in the
 * deployment's start order, the same for every service instance since it is read from the log),
 * the sender's fence `generation` (its hold of the deployment's rollout lock), the command's own
 * `attempt`, and `expiresAt`: an agent runs it only before it expires and only when (generation,
 * rolloutSeq) is not older than the newest it accepted for the deployment — a captured command
 * cannot be replayed later, nor after a newer holder or a newer rollout took over.
 */
export const rolloutCommandV1Schema = z.strictObject({
  v: z.literal(1),
  deployment: deploymentId,
  rolloutId,
  rolloutSeq: z.number().int().positive(),
  generation: nat,
  /** Milliseconds since the epoch after which the agent refuses it. */
  expiresAt: nat,
  command: rolloutCommandSchema,
  /** Milliseconds since the epoch when the service sent it (for latency figures only). */
  sentAt: z.number().int().nonnegative(),
});
export type RolloutCommandV1 = z.infer<typeof rolloutCommandV1Schema>;

const checksums = arrayOf<string>('checksums', (x) => (typeof x === 'string' && x.length <= 128 ? null : { path: [], message: 'must be a string of at most 128 characters' }));
const rankHoldings = z.strictObject({ rank: nat, experts: natArray(), checksums });
export const layerHoldingsSchema = z.strictObject({ layer: nat, version: z.number().int().positive(), ranks: z.array(rankHoldings) });

export const rolloutAckSchema = z.strictObject({
  rolloutId,
  layer: nat,
  attempt: z.number().int().positive(),
  agent: nat,
  ranks: natArray(),
  phase: z.enum(['prepare', 'commit', 'abort']),
  ok: z.boolean(),
  error: z.string().max(2000).optional(),
  holdings: layerHoldingsSchema.optional(),
});

export const rolloutAckV1Schema = z.discriminatedUnion('type', [
  /** `generation`: that of the command answered (the service takes acks of its own generation only). */
  z.strictObject({ v: z.literal(1), type: z.literal('ack'), deployment: deploymentId, node: nat, ack: rolloutAckSchema, generation: nat, sentAt: z.number().int().nonnegative(), expiresAt: nat }),
  /** What an agent's ranks hold (per layer: version and logical expert per slot; checksums optional). */
  z.strictObject({ v: z.literal(1), type: z.literal('holdings'), deployment: deploymentId, node: nat, ranks: natArray(), layers: z.array(layerHoldingsSchema), sentAt: z.number().int().nonnegative(), expiresAt: nat, lostRanks: natArray().optional() }),
  /**
   * An agent is alive (sent every few seconds on the control channel, else on Kafka). `lostRanks`
   * (here and in holdings): ranks of its node that are gone (device lost, engine worker dead).
   */
  z.strictObject({ v: z.literal(1), type: z.literal('heartbeat'), deployment: deploymentId, node: nat, ranks: natArray(), sentAt: z.number().int().nonnegative(), expiresAt: nat, lostRanks: natArray().optional() }),
]);
export type RolloutAckV1 = z.infer<typeof rolloutAckV1Schema>;

export type RolloutParse<T> = { ok: true; message: T } | { ok: false; reason: string };

/** `valid`: a hand-written check that accepts nothing `schema` refuses (rollout-message-check), run first on hot messages. */
function parseWith<T>(schema: z.ZodType<T>, raw: Buffer | string | null, valid?: (json: unknown) => boolean): RolloutParse<T> {
  const read = readJson(raw);
  if (!read.ok) return read;
  if (valid?.(read.json)) return { ok: true, message: read.json as T };
  const parsed = schema.safeParse(read.json);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, reason: firstIssue(parsed.error) };
}

/** Parses a command message; the reason names the first offending field. */
export const parseRolloutCommand = (raw: Buffer | string | null): RolloutParse<RolloutCommandV1> => parseWith(rolloutCommandV1Schema, raw, isRolloutCommandV1);
/** Parses an ack or holdings message; the reason names the first offending field. */
export const parseRolloutAck = (raw: Buffer | string | null): RolloutParse<RolloutAckV1> => parseWith(rolloutAckV1Schema, raw, isRolloutAckV1);

/**
 * The first line an agent sends on the direct control channel (libs/messaging ControlChannel),
 * signed (`SIGNATURE JSON`) with the key it names: its token (role agent or operator), what it
 * serves, its Ed25519 public key (publicKeyText), which the service enrols for the node (what the
 * agent signs on Kafka from then on is verified with it), and `ephemeral`, the X25519 key it made
 * for this connection (control-session: the session's MAC keys). The service answers with a
 * signed `welcome` or a plain `refused` with the reason; after that the channel carries the same
 * command and ack messages as the Kafka topics, each line MACed with the session's keys.
 */
export const agentHelloV1Schema = z.strictObject({
  v: z.literal(1),
  type: z.literal('hello'),
  token: z.string().min(1).max(512),
  deployment: deploymentId,
  node: nat,
  ranks: natArray(1),
  /** The agent's Ed25519 public key, base64 DER (SPKI): 44 bytes. */
  publicKey: z.string().regex(/^[A-Za-z0-9+/]{58,64}={0,2}$/, 'must be a base64 Ed25519 public key'),
  /** The agent's X25519 public key for this connection alone (base64 of its 32 bytes). */
  ephemeral: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 X25519 public key (32 bytes)'),
  /** Free text for logs and the audit trail (host, pid, version). */
  agent: z.string().max(256).optional(),
});
export type AgentHelloV1 = z.infer<typeof agentHelloV1Schema>;
export const parseAgentHello = (raw: Buffer | string | null): RolloutParse<AgentHelloV1> => parseWith(agentHelloV1Schema, raw);

/**
 * The service's answer to an accepted hello, signed with its key (agents pin the public half):
 * its own X25519 key for the connection (`ephemeral`) and the agent's, echoed (`agentEphemeral`),
 * so a recorded welcome answers no other connection.
 */
export const controlWelcomeV1Schema = z.strictObject({
  v: z.literal(1),
  type: z.literal('welcome'),
  instance: z.string().min(1).max(256),
  ephemeral: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 X25519 public key (32 bytes)'),
  agentEphemeral: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 X25519 public key (32 bytes)'),
});
export type ControlWelcomeV1 = z.infer<typeof controlWelcomeV1Schema>;
export const parseControlWelcome = (raw: Buffer | string | null): RolloutParse<ControlWelcomeV1> => parseWith(controlWelcomeV1Schema, raw);
