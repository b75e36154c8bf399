import { isDeploymentId } from '@eplb/domain';

/**
 * Hand-written checks of the two hot rollout messages (a command at the agent, an agent message at
 * the service), run before their zod schemas (rollout-messages.v1): a message that passes is taken
 * as it is; one that does not goes to the schema, which says why (or, should this check be
 * stricter somewhere, accepts it). So each check must accept nothing its schema refuses — the
 * schemas stay the one statement of the rules, and rollout-message-check.spec holds the two
 * together on valid messages and on every single-field corruption of them. Zod per message was a
 * sixth of the service's CPU per layer and a seventh of an agent's (profiles of bench:rollout).
 */

type Obj = Record<string, unknown>;

const isObject = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
/** Only keys of `allowed` (strict objects); presence and values are checked by the caller. */
function onlyKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}
const nat = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const positiveInt = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
const nonNegative = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;
const stringOf = (x: unknown, min: number, max: number): boolean => typeof x === 'string' && x.length >= min && x.length <= max;
const optional = (o: Obj, k: string, check: (x: unknown) => boolean): boolean => !(k in o) || check(o[k]);

function natArray(x: unknown, min = 0): boolean {
  if (!Array.isArray(x) || x.length < min) return false;
  for (const v of x) if (!nat(v)) return false;
  return true;
}

const LINKS: ReadonlySet<unknown> = new Set(['local', 'node', 'remote']);
/** Arrays of objects with exactly these non-negative integer fields and a `link`. */
function linkRecords(x: unknown, fields: readonly string[]): boolean {
  if (!Array.isArray(x)) return false;
  for (const r of x) {
    if (!isObject(r) || !LINKS.has(r.link)) return false;
    let n = 1;
    for (const f of fields) {
      if (!nat(r[f])) return false;
      n++;
    }
    if (Object.keys(r).length !== n) return false;
  }
  return true;
}
const RECEIVE = ['slot', 'expert', 'source'] as const;
const SEND = ['fromRank', 'toRank', 'slot', 'expert'] as const;

const PART_KEYS = new Set(['layer', 'agent', 'ranks', 'version', 'row', 'receives', 'sends', 'bytesIn', 'bytesOut']);
function planPart(x: unknown): boolean {
  return (
    isObject(x) &&
    onlyKeys(x, PART_KEYS) &&
    nat(x.layer) &&
    nat(x.agent) &&
    natArray(x.ranks, 1) &&
    positiveInt(x.version) &&
    natArray(x.row, 1) &&
    linkRecords(x.receives, RECEIVE) &&
    linkRecords(x.sends, SEND) &&
    nonNegative(x.bytesIn) &&
    nonNegative(x.bytesOut)
  );
}

const PREPARE_KEYS = new Set(['kind', 'layer', 'attempt', 'agent', 'part', 'bytesPerSecond', 'repair']);
const STEP_KEYS = new Set(['kind', 'layer', 'attempt', 'agent', 'ranks']);
function command(x: unknown): boolean {
  if (!isObject(x) || !nat(x.layer) || !positiveInt(x.attempt) || !nat(x.agent)) return false;
  if (x.kind === 'prepare') return onlyKeys(x, PREPARE_KEYS) && planPart(x.part) && optional(x, 'bytesPerSecond', positive) && optional(x, 'repair', (v) => typeof v === 'boolean');
  return (x.kind === 'commit' || x.kind === 'abort') && onlyKeys(x, STEP_KEYS) && natArray(x.ranks, 1);
}

const COMMAND_KEYS = new Set(['v', 'deployment', 'rolloutId', 'rolloutSeq', 'generation', 'expiresAt', 'command', 'sentAt']);
/** Whether `x` (parsed JSON) is a valid rollout command message (rolloutCommandV1Schema). */
export function isRolloutCommandV1(x: unknown): boolean {
  return (
    isObject(x) &&
    onlyKeys(x, COMMAND_KEYS) &&
    x.v === 1 &&
    isDeploymentId(x.deployment) &&
    stringOf(x.rolloutId, 1, 128) &&
    positiveInt(x.rolloutSeq) &&
    nat(x.generation) &&
    nat(x.expiresAt) &&
    nat(x.sentAt) &&
    command(x.command)
  );
}

const RANK_HOLDINGS_KEYS = new Set(['rank', 'experts', 'checksums']);
const HOLDINGS_KEYS = new Set(['layer', 'version', 'ranks']);
function layerHoldings(x: unknown): boolean {
  if (!isObject(x) || !onlyKeys(x, HOLDINGS_KEYS) || !nat(x.layer) || !positiveInt(x.version) || !Array.isArray(x.ranks)) return false;
  for (const r of x.ranks) {
    if (!isObject(r) || !onlyKeys(r, RANK_HOLDINGS_KEYS) || !nat(r.rank) || !natArray(r.experts) || !Array.isArray(r.checksums)) return false;
    for (const c of r.checksums) if (!stringOf(c, 0, 128)) return false;
  }
  return true;
}

const PHASES: ReadonlySet<unknown> = new Set(['prepare', 'commit', 'abort']);
const ACK_KEYS = new Set(['rolloutId', 'layer', 'attempt', 'agent', 'ranks', 'phase', 'ok', 'error', 'holdings']);
function ack(x: unknown): boolean {
  return (
    isObject(x) &&
    onlyKeys(x, ACK_KEYS) &&
    stringOf(x.rolloutId, 1, 128) &&
    nat(x.layer) &&
    positiveInt(x.attempt) &&
    nat(x.agent) &&
    natArray(x.ranks) &&
    PHASES.has(x.phase) &&
    typeof x.ok === 'boolean' &&
    optional(x, 'error', (v) => stringOf(v, 0, 2000)) &&
    optional(x, 'holdings', layerHoldings)
  );
}

const ACK_MESSAGE_KEYS = new Set(['v', 'type', 'deployment', 'node', 'ack', 'generation', 'sentAt', 'expiresAt']);
const HEARTBEAT_KEYS = new Set(['v', 'type', 'deployment', 'node', 'ranks', 'sentAt', 'expiresAt', 'lostRanks']);
const HOLDINGS_MESSAGE_KEYS = new Set([...HEARTBEAT_KEYS, 'layers']);
/** Whether `x` (parsed JSON) is a valid agent message: ack, heartbeat or holdings report (rolloutAckV1Schema). */
export function isRolloutAckV1(x: unknown): boolean {
  if (!isObject(x) || x.v !== 1 || !isDeploymentId(x.deployment) || !nat(x.node) || !nat(x.sentAt) || !nat(x.expiresAt)) return false;
  if (x.type === 'ack') return onlyKeys(x, ACK_MESSAGE_KEYS) && nat(x.generation) && ack(x.ack);
  const lost = optional(x, 'lostRanks', (v) => natArray(v));
  if (x.type === 'heartbeat') return onlyKeys(x, HEARTBEAT_KEYS) && natArray(x.ranks) && lost;
  if (x.type !== 'holdings' || !onlyKeys(x, HOLDINGS_MESSAGE_KEYS) || !natArray(x.ranks) || !lost || !Array.isArray(x.layers)) return false;
  for (const l of x.layers) if (!layerHoldings(l)) return false;
  return true;
}
