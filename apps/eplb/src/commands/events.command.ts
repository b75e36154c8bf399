import { type ApiClient, ApiUnreachable, type EventsQuery } from '@eplb/api-client';
import { CommandLine, formatHelp, OptionSpecs, parseCommandLine, UsageError } from '@eplb/cli';
import type { AuditEventResponse, AuditEventsResponse } from '@eplb/contracts';
import { noMoreArguments, positional } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { OUTPUT_OPTIONS, outputFor } from '../output';

/** The rollout machine's chatter (every agent's ack, every decision), left out unless asked for. */
export const DEFAULT_EXCLUDED_TYPES = ['rollout.ack', 'rollout.decided'] as const;
/** `--follow` first prints this many of the newest events. */
const FOLLOW_BACKLOG = 20;
const PAGE_MAX = 1000;

const OPTIONS: OptionSpecs = {
  type: { type: 'string', value: 'T,..', help: 'only these event types (comma list, `prefix*` matches a prefix, e.g. rollout.*)' },
  exclude: { type: 'string', value: 'T,..', help: `leave these types out (besides ${DEFAULT_EXCLUDED_TYPES.join(', ')}, left out unless --type or --all)` },
  actor: { type: 'string', value: 'A,..', help: 'only events by these actors (e.g. operator:*, loop:auto, service:rollout)' },
  correlation: { type: 'string', value: 'ID', help: 'one chain of custody (interval:<deployment>:<phase>:<n>): interval, run, approval, map version, rollout, layers, gate, outcome' },
  since: { type: 'string', value: 'ISO', help: 'events at or after this time (ISO-8601, e.g. 2026-12-06T10:00:00Z)' },
  until: { type: 'string', value: 'ISO', help: 'events before this time' },
  limit: { type: 'string', value: 'N', help: 'at most N events, newest first (default 50; pages through the API as needed)' },
  all: { type: 'boolean', help: `every type, ${DEFAULT_EXCLUDED_TYPES.join(' and ')} too` },
  follow: { type: 'boolean', short: 'f', help: `print the last ${FOLLOW_BACKLOG}, then new events as they come (every second) until Ctrl-C` },
  ...OUTPUT_OPTIONS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

const USAGE = 'eplb events ID [--type T,..] [--exclude T,..] [--actor A,..] [--correlation C] [--since ISO] [--until ISO] [--limit N] [--all] [--follow] [-o json]';

export const eventsHelp = (): string =>
  formatHelp({
    usage: [USAGE],
    summary: [
      "A deployment's audit log, one line per event, newest at the top (with --follow: oldest first, new ones appended):",
      '  TIME  TYPE  ACTOR  WHAT  [CORRELATION]  REASON',
      'Who did what, why, and under which chain of custody: the correlation id of a rollout.layer-committed',
      'event leads, with --correlation, to the interval it was planned from, the run, who approved it,',
      'the rollout, its gate and the imbalance measured before → after.',
    ].join('\n'),
    options: OPTIONS,
    examples: [
      'eplb events dsv3-a --type rollout.layer-committed --since 2026-12-06T10:40:00Z',
      'eplb events dsv3-a --correlation interval:dsv3-a:decode:42',
      'eplb events dsv3-a --actor loop:* --follow',
    ],
    notes: ['-o json prints the API\'s page ({deployment, order, items, nextCursor}); with --follow one event per line (JSON lines).'],
  });

// ---- one line per event ----------------------------------------------------------------------

const str = (v: unknown): string => (v === undefined || v === null ? '-' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
const fixed = (v: unknown, digits = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : str(v));
const version = (v: unknown): string => (v === undefined || v === null ? '-' : `v${str(v)}`);
const shortId = (v: unknown): string => (typeof v === 'string' && v.length > 12 ? v.slice(0, 8) : str(v));
const list = (v: unknown, max = 8): string => {
  if (!Array.isArray(v)) return str(v);
  const head = v.slice(0, max).map(str).join(',');
  return v.length > max ? `${head},… (${v.length})` : head;
};
const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * `2.018 → 1.549 (projected 2.017 → 1.420; same heat 2.010 → 1.530)` from a RolloutOutcome as the
 * payload carries it (same heat: the interval after under the previous map and under this one).
 */
function outcomeText(p: Record<string, unknown>): string {
  const o = obj(p.outcome);
  if (!o) return `not measurable: ${str(p.why)}`;
  const before = obj(o.before)?.imbalance;
  const after = obj(o.after)?.imbalance;
  const projected = obj(o.projected);
  const same = obj(o.onSameHeat);
  const notes = [projected ? `projected ${fixed(projected.before)} → ${fixed(projected.after)}` : '', same ? `same heat ${fixed(same.previousMap)} → ${fixed(same.newMap)}` : ''].filter(Boolean);
  return `imbalance ${fixed(before)} → ${fixed(after)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** What changed in a settings update: `mode → approve, cadenceSeconds → 10`. */
function settingsText(p: Record<string, unknown>): string {
  const skip = new Set(['settingsVersion', 'trippedBy', 'requestId']);
  const changes = Object.entries(p)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k} → ${v === null ? 'none' : Array.isArray(v) && k === 'rolloutSteps' ? v.map((x) => (obj(x) ? `${str(obj(x)!.layers)}${obj(x)!.analysis ? ':gate' : ''}` : str(x))).join(',') : str(v)}`);
  const tripped = p.trippedBy !== undefined ? ` (breaker tripped by rollout ${shortId(p.trippedBy)})` : '';
  return `${changes.join(', ') || 'settings'}${tripped}`;
}

/** A short summary of an event's payload, per type; '' when the type says it all. */
export function summarize(e: Pick<AuditEventResponse, 'type' | 'payload'>): string {
  const p = e.payload ?? {};
  switch (e.type) {
    case 'interval.sealed':
      return `${str(p.phase)} interval ${str(p.interval)}, imbalance ${fixed(p.imbalance)}`;
    case 'proposal.created':
    case 'policy-run.nothing-to-deploy':
    case 'policy-run.failed':
      return `run ${shortId(p.runId)} (interval ${str(p.interval)}, ${str(p.policy)}, on ${version(p.baseMapVersion)})`;
    case 'proposal.approved':
      return `run ${shortId(p.runId)} → ${version(p.mapVersion)}`;
    case 'proposal.rejected':
      return `run ${shortId(p.runId)}`;
    case 'map-version.created': {
      const from = p.runId !== undefined ? `from run ${shortId(p.runId)}` : p.emergency ? `emergency (lost ranks ${list(p.lostRanks)})` : p.source !== undefined ? `${str(p.source)}${p.format !== undefined ? ` (${str(p.format)})` : ''}` : 'initial';
      return `${version(p.version)} on ${version(p.parentVersion)}, ${from}`;
    }
    case 'rollout.requested': {
      const how = [p.emergency ? `emergency (lost ranks ${list(obj(p.emergency)?.lostRanks)})` : p.automatic ? 'automatic' : 'by request', ...(p.forced ? ['forced'] : [])].join(', ');
      return `${version(p.mapVersion)}, ${how} (rollout ${shortId(p.rolloutId)})`;
    }
    case 'rollout.rejected':
      return `rollout ${shortId(p.rolloutId)}`;
    case 'rollout.control-requested':
      return `${str(p.action)}${p.rollback === false ? ' (hold)' : ''} rollout ${shortId(p.rolloutId)}`;
    case 'rollout.started': {
      const layers = Array.isArray(p.layers) ? p.layers : [];
      return `${version(p.fromVersion)} → ${version(p.toVersion)}, ${layers.length} layer${layers.length === 1 ? '' : 's'} (${list(layers)})`;
    }
    case 'rollout.layer-committed':
      return `layer ${str(p.layer)} → ${version(p.version)}`;
    case 'rollout.analysis':
      return `batch ${str(p.batch)} ${p.passed ? 'pass' : 'fail'}${p.detail !== undefined ? `: ${str(p.detail)}` : ''}`;
    case 'rollout.finished': {
      const failure = obj(p.failure);
      return `${str(p.status)}${failure ? `: ${str(failure.reason)}` : ''}`;
    }
    case 'rollout.outcome-measured':
      return `${version(p.fromVersion)} → ${version(p.toVersion)}: ${outcomeText(p)}`;
    case 'rollout.version-discarded':
      return `${version(p.version)} (planned on ${version(p.parentVersion)}, ${version(p.inService)} in service)`;
    case 'rollout.emergency-planned':
      return `lost ranks ${list(p.lostRanks)} → ${p.mapVersion === null || p.mapVersion === undefined ? 'the map in service already serves without them' : version(p.mapVersion)}`;
    case 'deployment.settings-updated':
      return settingsText(p);
    default:
      return '';
  }
}

/** `2026-12-06T10:42:03Z  rollout.layer-committed  service:rollout  layer 17 → v9  [interval:demo:decode:42]  <reason>` */
export function eventLine(e: AuditEventResponse): string {
  const what = summarize(e);
  return [`${e.occurredAt.slice(0, 19)}Z`, e.type.padEnd(24), e.actor.padEnd(15), ...(what ? [what] : []), `[${e.correlationId}]`, e.reason].join('  ');
}

// ---- the command -----------------------------------------------------------------------------

function isoOption(line: CommandLine, name: string): string | undefined {
  const v = line.string(name);
  if (v === undefined) return undefined;
  if (Number.isNaN(Date.parse(v)) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) throw new UsageError(`--${name} must be an ISO-8601 time such as 2026-12-06T10:40:00Z, got "${v}"`);
  // the API wants an offset: a bare local time is read as UTC
  return /(Z|[+-]\d{2}:?\d{2})$/.test(v) ? v : `${v}Z`;
}

function limitOption(line: CommandLine): number {
  const v = line.string('limit');
  if (v === undefined) return 50;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--limit must be a positive integer, got "${v}"`);
  return Number(v);
}

/** The filters of the command line as the API's query (no page, no order). */
export function eventsFilter(line: CommandLine): EventsQuery {
  const type = line.string('type');
  const excluded = [...(line.string('exclude')?.split(',').map((t) => t.trim()).filter(Boolean) ?? []), ...(type || line.flag('all') ? [] : DEFAULT_EXCLUDED_TYPES)];
  const q: EventsQuery = {
    type,
    exclude: excluded.length ? [...new Set(excluded)].join(',') : undefined,
    actor: line.string('actor'),
    correlation: line.string('correlation'),
    from: isoOption(line, 'since'),
    to: isoOption(line, 'until'),
  };
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as EventsQuery;
}

/** Up to `limit` events, newest first, paging with the API's cursor. */
export async function newestEvents(api: ApiClient, id: string, filter: EventsQuery, limit: number): Promise<AuditEventsResponse> {
  const items: AuditEventResponse[] = [];
  let cursor: string | undefined;
  let page: AuditEventsResponse;
  do {
    page = await api.listEvents(id, { ...filter, limit: Math.min(PAGE_MAX, limit - items.length), ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < limit);
  return { deployment: page.deployment, order: 'desc', items, nextCursor: items.length >= limit ? (page.nextCursor ?? null) : null };
}

export interface EventsOptions {
  /** Ends --follow (default: SIGINT). */
  readonly signal?: AbortSignal;
  /** Between polls of --follow (default 1000 ms). */
  readonly pollMs?: number;
  readonly write?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

async function follow(api: ApiClient, id: string, filter: EventsQuery, json: boolean, write: (t: string) => void, stderr: (t: string) => void, signal: AbortSignal, pollMs: number): Promise<void> {
  const print = (items: readonly AuditEventResponse[]) => {
    if (items.length) write(items.map((e) => (json ? JSON.stringify(e) : eventLine(e))).join('\n') + '\n');
  };
  const backlog = await api.listEvents(id, { ...filter, limit: FOLLOW_BACKLOG });
  const oldestFirst = [...backlog.items].reverse();
  print(oldestFirst);
  // after the newest shown; with none shown, after the newest event of any kind (nothing old replayed)
  let cursor = oldestFirst.at(-1)?.id ?? (await api.listEvents(id, { limit: 1, payload: false })).items[0]?.id ?? '0';
  let down = false;
  while (!signal.aborted) {
    await sleep(pollMs, signal);
    if (signal.aborted) break;
    let page: AuditEventsResponse;
    try {
      page = await api.listEvents(id, { ...filter, order: 'asc', cursor, limit: PAGE_MAX });
    } catch (err) {
      // an API restarting does not end a follow: said once, then polled until it answers
      if (!(err instanceof ApiUnreachable)) throw err;
      if (!down) stderr(`eplb events: ${err.message}; still following\n`);
      down = true;
      continue;
    }
    if (down) stderr('eplb events: the API answers again\n');
    down = false;
    print(page.items);
    cursor = page.items.at(-1)?.id ?? cursor;
  }
}

/** `eplb events ID …`: a deployment's audit log through the API (`GET /v1/deployments/{id}/events`). */
export async function eventsCommand(argv: string[], api: ApiClient = defaultApiClient(), opts: EventsOptions = {}): Promise<number> {
  const write = opts.write ?? ((t: string) => process.stdout.write(t));
  const line = parseCommandLine(argv, OPTIONS);
  if (line.flag('help') || argv[0] === 'help') {
    write(eventsHelp());
    return 0;
  }
  const id = positional(line, 0, 'ID');
  noMoreArguments(line, 1);
  const filter = eventsFilter(line);
  const limit = limitOption(line);
  const out = outputFor(line, write);
  if (line.flag('follow')) {
    if (line.has('limit')) throw new UsageError('--follow prints the last 20, then what comes; leave --limit out');
    if (line.string('output') === 'yaml') throw new UsageError('--follow prints lines or JSON lines (-o json), not yaml');
    const json = line.string('output') === 'json' || line.flag('json');
    let signal = opts.signal;
    let stop: (() => void) | undefined;
    if (!signal) {
      const ac = new AbortController();
      stop = () => ac.abort();
      process.once('SIGINT', stop);
      signal = ac.signal;
    }
    try {
      await follow(api, id, filter, json, write, opts.stderr ?? ((t) => process.stderr.write(t)), signal, opts.pollMs ?? 1000);
    } finally {
      if (stop) process.removeListener('SIGINT', stop);
    }
    return 0;
  }
  out.show(await newestEvents(api, id, filter, limit), (r) => (r.items.length ? r.items.map(eventLine) : [`no events of ${id} match`]));
  return 0;
}
