import { ApiClient } from '../api-client';
import { ParsedArgs, UsageError, parseArgs, stringOption } from '../args';
import { printJson, printLines, table, when } from '../output';

const USAGE = `usage: eplb rollout status ID [ROLLOUT] [--json]            (default: the rollout in progress, else the latest)
       eplb rollout history ID [--json]
       eplb rollout agents ID [--json]                      (per node: connected, Kafka only, stale or missing; versions held)
       eplb rollout start ID --to VERSION [--steps 1,4,rest] [--on-failure rollback|hold] [--bytes-per-second N] [--reason TEXT] [--json]
       eplb rollout pause|resume|promote ID [ROLLOUT] [--reason TEXT] [--json]
       eplb rollout abort ID [ROLLOUT] [--hold] [--reason TEXT] [--json]   (--hold: keep committed layers)
       eplb rollout undo ID [--to VERSION] [--steps ...] [--on-failure ...] [--reason TEXT] [--json]
         (a new rollout to an earlier version; default: the version before the current one)`;

interface HistoryItem {
  rolloutId: string;
  mapVersion: number;
  fromVersion: number | null;
  requestedBy: string;
  reason: string;
  status: string;
  failure: { reason: string } | null;
  rejected: string | null;
  requestedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

interface RolloutList {
  committedVersions: number[];
  rebalancing: boolean;
  items: HistoryItem[];
}

interface RolloutDetail {
  rolloutId: string;
  deployment: string;
  mapVersion: number;
  requestedBy: string;
  reason: string;
  status: string;
  rejected?: string | null;
  fromVersion?: number;
  toVersion?: number;
  failure?: { reason: string; at: number } | null;
  onFailure?: string;
  promoted?: boolean;
  gate?: { batch: number } | null;
  active?: number | null;
  layers: { layer: number; status: string; version: number | null; verifyError: string | null }[];
}

const FINISHED = new Set(['SUCCEEDED', 'ABORTED', 'ROLLED_BACK', 'REJECTED']);

/** `1,4,rest` → [1, 4, 'rest']. */
export function parseSteps(text: string): (number | 'rest')[] {
  return text.split(',').map((s) => {
    const t = s.trim();
    if (t === 'rest') return 'rest';
    if (!/^\d+$/.test(t) || Number(t) < 1) throw new UsageError(`--steps: "${t}" is neither a layer count nor "rest" (e.g. --steps 1,4,rest)`);
    return Number(t);
  });
}

function versionOption(args: ParsedArgs, name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a map version (a positive integer), got "${v}"`);
  return Number(v);
}

function onFailureOption(args: ParsedArgs): 'rollback' | 'hold' | undefined {
  const v = stringOption(args, 'on-failure');
  if (v === undefined || v === 'rollback' || v === 'hold') return v;
  throw new UsageError(`--on-failure must be rollback or hold, got "${v}"`);
}

const outcome = (i: HistoryItem): string => {
  if (i.rejected) return `rejected: ${i.rejected}`;
  if (i.failure) return i.failure.reason;
  return i.reason;
};

/** The rollout not yet finished (running, or requested and waiting), if any. */
const unfinished = (list: RolloutList): HistoryItem | undefined => list.items.find((i) => !FINISHED.has(i.status));

/** `eplb rollout …`: deploy map versions layer by layer through the API, watch and steer them. */
export async function rolloutCommand(argv: string[], api = new ApiClient()): Promise<number> {
  const [verb, ...rest] = argv;
  const args = parseArgs(rest, { values: ['to', 'steps', 'on-failure', 'bytes-per-second', 'reason'], flags: ['json', 'hold'] });
  const json = args.options.has('json');
  const [id, rid] = args.positional;
  if (verb === undefined || verb === 'help' || verb === '--help') throw new UsageError(USAGE);
  if (!id) throw new UsageError(`missing ID\n${USAGE}`);
  const base = `/v1/deployments/${encodeURIComponent(id)}/rollouts`;
  const list = () => api.call<RolloutList>('GET', base);

  /** The rollout named on the command line, else the one in progress. */
  const target = async (what: string): Promise<string> => {
    if (rid) return rid;
    const u = unfinished(await list());
    if (!u) throw new Error(`${id} has no rollout in progress to ${what}`);
    return u.rolloutId;
  };

  const start = async (mapVersion: number, reason: string): Promise<number> => {
    const steps = stringOption(args, 'steps');
    const onFailure = onFailureOption(args);
    const cap = stringOption(args, 'bytes-per-second');
    const bytesPerSecond = cap === undefined ? undefined : Number(cap);
    if (bytesPerSecond !== undefined && !(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0)) throw new UsageError(`--bytes-per-second must be a positive number, got "${cap}"`);
    const body = { mapVersion, reason, ...(steps ? { steps: parseSteps(steps) } : {}), ...(onFailure ? { onFailure } : {}), ...(bytesPerSecond ? { bytesPerSecond } : {}) };
    const r = await api.call<{ rolloutId: string; status: string }>('POST', base, body);
    if (json) printJson({ ...r, mapVersion });
    else printLines([`rollout ${r.rolloutId} of ${id} to map version ${mapVersion}: ${r.status} (eplb rollout status ${id})`]);
    return 0;
  };

  switch (verb) {
    case 'status': {
      let rolloutId = rid;
      if (!rolloutId) {
        const l = await list();
        const pick = unfinished(l) ?? l.items[l.items.length - 1];
        if (!pick) throw new Error(`${id} has no rollouts (layers on versions ${[...new Set(l.committedVersions)].join(', ')})`);
        rolloutId = pick.rolloutId;
      }
      const s = await api.call<RolloutDetail>('GET', `${base}/${encodeURIComponent(rolloutId)}`);
      const to = s.toVersion ?? s.mapVersion;
      const committed = s.layers.filter((l) => l.status === 'COMMITTED' && l.version === to).length;
      if (json) {
        printJson({ ...s, layersCommitted: committed, layersTotal: s.layers.length });
        return 0;
      }
      const failed = s.layers.filter((l) => l.verifyError);
      printLines([
        `rollout ${s.rolloutId} of ${s.deployment}: version ${s.fromVersion ?? '?'} → ${to}`,
        `state   ${s.status}${s.promoted ? ' (promoted)' : ''}${s.gate ? ` (waiting at the gate after batch ${s.gate.batch})` : ''}`,
        `layers  ${committed}/${s.layers.length} committed${s.active !== undefined && s.active !== null ? `, layer ${s.active} in progress` : ''}`,
        ...(s.layers.length ? [`        ${s.layers.map((l) => `${l.layer}:${l.status.toLowerCase()}@v${l.version ?? '-'}`).join(' ')}`] : []),
        ...(s.failure ? [`failure ${s.failure.reason}${s.onFailure ? ` (on failure: ${s.onFailure})` : ''}`] : []),
        ...(s.rejected ? [`rejected ${s.rejected}`] : []),
        ...failed.map((l) => `verify  layer ${l.layer}: ${l.verifyError}`),
        `by      ${s.requestedBy}: ${s.reason}`,
      ]);
      return 0;
    }
    case 'history': {
      const l = await list();
      if (json) {
        printJson(l);
        return 0;
      }
      printLines([
        ...table(
          ['ROLLOUT', 'FROM', 'TO', 'STATUS', 'REQUESTED', 'FINISHED', 'BY', 'OUTCOME'],
          l.items.map((i) => [i.rolloutId, i.fromVersion ?? '-', i.mapVersion, i.status, when(i.requestedAt), when(i.finishedAt), i.requestedBy, outcome(i)]),
        ),
        `layers now on version${new Set(l.committedVersions).size > 1 ? 's' : ''} ${[...new Set(l.committedVersions)].join(', ')}${l.rebalancing ? ' (rebalancing)' : ''}`,
      ]);
      return 0;
    }
    case 'agents': {
      const a = await api.call<{ agents: { node: number; status: string; ranks: number[]; ageMs: number | null; principal: string | null; heldVersions: Record<string, number> | null }[] }>(
        'GET',
        `/v1/deployments/${encodeURIComponent(id)}/agents`,
      );
      if (json) {
        printJson(a);
        return 0;
      }
      const held = (h: Record<string, number> | null) => (h ? Object.entries(h).map(([v, n]) => `v${v}×${n}`).join(' ') : '-');
      printLines(
        table(
          ['NODE', 'STATUS', 'RANKS', 'LAST HEARD', 'TOKEN', 'LAYERS HELD'],
          a.agents.map((x) => [x.node, x.status, x.ranks.length ? `${x.ranks[0]}-${x.ranks[x.ranks.length - 1]}` : '-', x.ageMs === null ? 'never' : `${(x.ageMs / 1000).toFixed(1)} s ago`, x.principal ?? '-', held(x.heldVersions)]),
        ),
      );
      return 0;
    }
    case 'start': {
      if (rid) throw new UsageError(`unexpected argument "${rid}" (the version goes in --to)`);
      const to = versionOption(args, 'to');
      if (to === undefined) throw new UsageError(`missing required option --to\n${USAGE}`);
      return start(to, stringOption(args, 'reason') ?? `roll out map version ${to} (eplb CLI)`);
    }
    case 'undo': {
      if (rid) throw new UsageError(`unexpected argument "${rid}" (the version goes in --to)`);
      const l = await list();
      const versions = [...new Set(l.committedVersions)];
      if (unfinished(l)) throw new Error(`rollout ${unfinished(l)!.rolloutId} of ${id} is not finished; abort it to undo what it committed`);
      let to = versionOption(args, 'to');
      if (to === undefined) {
        if (versions.length > 1) throw new Error(`layers of ${id} are on versions ${versions.join(', ')}; name the version with --to`);
        const current = versions[0];
        // the version the rollout that brought the current one started from, else its parent
        const last = [...l.items].reverse().find((i) => i.status === 'SUCCEEDED' && i.mapVersion === current && i.fromVersion !== null);
        const parent = last ? last.fromVersion : (await api.call<{ parentVersion: number | null }>('GET', `/v1/deployments/${encodeURIComponent(id)}/maps/${current}`)).parentVersion;
        if (parent === null) throw new Error(`${id} is on map version ${current}, which has no version before it`);
        to = parent;
      }
      if (versions.length === 1 && versions[0] === to) throw new Error(`${id} is already on map version ${to}`);
      return start(to, stringOption(args, 'reason') ?? `undo: back to map version ${to} from ${versions.join(', ')} (eplb CLI)`);
    }
    case 'pause':
    case 'resume':
    case 'promote':
    case 'abort': {
      const rolloutId = await target(verb);
      const hold = args.options.has('hold');
      if (hold && verb !== 'abort') throw new UsageError('--hold applies to abort only');
      const body = { reason: stringOption(args, 'reason') ?? `${verb} (eplb CLI)`, ...(hold ? { rollback: false } : {}) };
      const r = await api.call<{ rolloutId: string; action: string; accepted: boolean }>('POST', `${base}/${encodeURIComponent(rolloutId)}/${verb}`, body);
      if (json) printJson(r);
      else printLines([`${verb} of rollout ${r.rolloutId} accepted; the rollout service applies it (eplb rollout status ${id} ${r.rolloutId})`]);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}
