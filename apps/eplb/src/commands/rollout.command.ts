import type { ApiClient } from '@eplb/api-client';
import { CommandLine, OptionSpecs, UsageError } from '@eplb/cli';
import type { RolloutControlAction, RolloutDetail, RolloutDetailWithOutcome, RolloutListItem, RolloutListItemWithOutcome, RolloutListResponse, RolloutOutcomeResponse, RolloutStepInput } from '@eplb/contracts';
import { describeOutcome, isFinishedRolloutStatus, ROLLOUT_STATUS } from '@eplb/domain';
import { ApiContext, runApiGroup } from '../api-context';
import { CommandGroup, noMoreArguments, positional, Verb } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { ConflictError, NotFoundError } from '../exit-codes';
import { explainMissingAgents } from '../missing-agents';
import { parseSteps } from '../steps';
import { OUTPUT_OPTIONS, table, when } from '../output';

/** Statuses after which a rollout changes nothing any more. */

export { parseSteps } from '../steps';

function versionOption(line: CommandLine, name: string): number | undefined {
  const v = line.string(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a map version (a positive integer), got "${v}"`);
  return Number(v);
}

function onFailureOption(line: CommandLine): 'rollback' | 'hold' | undefined {
  const v = line.string('on-failure');
  if (v === undefined || v === 'rollback' || v === 'hold') return v;
  throw new UsageError(`--on-failure must be rollback or hold, got "${v}"`);
}

/** What a failure says: the rollout service records `{reason, at}`. */
const failureReason = (f: unknown): string =>
  typeof f === 'object' && f !== null && 'reason' in f ? String((f as { reason: unknown }).reason) : JSON.stringify(f);

const reasonOf = (i: RolloutListItem): string => {
  if (i.rejected) return `rejected: ${i.rejected}`;
  if (i.failure) return failureReason(i.failure);
  return i.reason;
};

/** The rollout not yet finished (running, or requested and waiting), if any. */
const unfinished = (list: RolloutListResponse): RolloutListItem | undefined => list.items.find((i) => !isFinishedRolloutStatus(i.status));

const versionsNow = (l: RolloutListResponse): number[] => [...new Set(l.committedVersions)];

/** Layers of the rollout committed on its target version. */
const committedCount = (s: RolloutDetail): number => {
  const to = 'toVersion' in s ? s.toVersion : s.mapVersion;
  return s.layers.filter((l) => l.status === 'COMMITTED' && l.version === to).length;
};

const f3 = (x: number | null): string => (x === null ? '-' : x.toFixed(3));

/** The measured outcome's lines of `rollout status`: the overall line, then per changed layer. */
export function outcomeLines(s: RolloutDetailWithOutcome): string[] {
  if (s.status === ROLLOUT_STATUS.rejected) return [];
  const o: RolloutOutcomeResponse | null = s.outcome ?? null;
  if (!o) return [`outcome ${isFinishedRolloutStatus(s.status) ? 'pending (measured once an interval is sealed wholly after the rollout)' : 'pending (measured after the rollout finishes)'}`];
  if (!o.measured) return [`outcome not measurable — ${o.why ?? 'no reason recorded'}`];
  const m = o.measured;
  const changed = m.layers.filter((l) => l.changed);
  const shown = changed.length ? changed : m.layers;
  return [
    `outcome ${describeOutcome(m)}`,
    `        measured on interval ${m.before.interval} (${m.before.episodes} episodes) → interval ${m.after.interval} (${m.after.episodes} episodes)${changed.length ? `; ${changed.length} changed layer${changed.length === 1 ? '' : 's'}:` : ''}`,
    ...table(
      ['LAYER', 'BEFORE', 'AFTER', 'GAIN', 'PROJECTED'],
      shown.map((l) => [l.layer, f3(l.before), f3(l.after), l.gain.toFixed(3), l.projectedBefore === null ? '-' : `${f3(l.projectedBefore)} → ${f3(l.projectedAfter)}`]),
    ).map((r) => `        ${r}`),
  ];
}

/** `2.018→1.549`, `n/a` (not measurable), `pending` (finished, not measured yet) or `-`. */
export function outcomeCell(i: RolloutListItemWithOutcome): string {
  if (i.outcome) return i.outcome.measured ? `${i.outcome.measured.before.imbalance.toFixed(3)}→${i.outcome.measured.after.imbalance.toFixed(3)}` : 'n/a';
  return isFinishedRolloutStatus(i.status) && i.status !== ROLLOUT_STATUS.rejected ? 'pending' : '-';
}

function statusLines(s: RolloutDetailWithOutcome): string[] {
  const started = 'toVersion' in s ? s : null;
  const to = started?.toVersion ?? s.mapVersion;
  const rejected = 'rejected' in s ? s.rejected : null;
  return [
    `rollout ${s.rolloutId} of ${s.deployment}: version ${started?.fromVersion ?? '?'} → ${to}`,
    `state   ${s.status}${started?.promoted ? ' (promoted)' : ''}${started?.gate ? ` (waiting at the gate after batch ${started.gate.batch})` : ''}`,
    `layers  ${committedCount(s)}/${s.layers.length} committed${started?.active != null ? `, layer ${started.active} in progress` : ''}`,
    ...(s.layers.length ? [`        ${s.layers.map((l) => `${l.layer}:${l.status.toLowerCase()}@v${l.version ?? '-'}`).join(' ')}`] : []),
    ...(started?.failure ? [`failure ${started.failure.reason} (on failure: ${started.onFailure})`] : []),
    ...(rejected ? [`rejected ${rejected}`] : []),
    ...s.layers.filter((l) => l.verifyError).map((l) => `verify  layer ${l.layer}: ${l.verifyError}`),
    `by      ${s.requestedBy}: ${s.reason}`,
    ...outcomeLines(s),
  ];
}

const START_OPTIONS: OptionSpecs = {
  to: { type: 'string', value: 'VERSION', help: 'the map version to roll out' },
  steps: { type: 'string', value: 'STEPS', help: 'layers per batch, :gate for an analysis gate after it, e.g. 1:gate,4,rest (default: all at once)' },
  'on-failure': { type: 'string', value: 'rollback|hold', help: 'on failure, roll committed layers back (default) or hold them' },
  'bytes-per-second': { type: 'string', value: 'N', help: 'cap on what each agent takes in per second' },
  reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the request)' },
  force: { type: 'boolean', help: 'queue it even when nodes it needs have no live agent (refused with exit 4 naming them otherwise)' },
};

/** Starts a rollout to `mapVersion` with the batch options on the command line. */
async function start(line: CommandLine, { api, out }: ApiContext, id: string, mapVersion: number, reason: string): Promise<void> {
  const steps = line.string('steps');
  const onFailure = onFailureOption(line);
  const cap = line.string('bytes-per-second');
  const bytesPerSecond = cap === undefined ? undefined : Number(cap);
  if (bytesPerSecond !== undefined && !(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0)) throw new UsageError(`--bytes-per-second must be a positive number, got "${cap}"`);
  const force = line.flag('force');
  const body = { mapVersion, reason, ...(steps ? { steps: parseSteps(steps) } : {}), ...(onFailure ? { onFailure } : {}), ...(bytesPerSecond ? { bytesPerSecond } : {}), ...(force ? { force } : {}) };
  const r = await explainMissingAgents(api, id, () => api.startRollout(id, body));
  out.show({ ...r, mapVersion }, (x) => [`rollout ${x.rolloutId} of ${id} to map version ${mapVersion}: ${x.status} (eplb rollout status ${id})`]);
}

/** pause | resume | promote | abort: the rollout named, else the one in progress. */
const control = (action: RolloutControlAction, summary: string, extra: OptionSpecs = {}): Verb<ApiContext> => ({
  args: `ID [ROLLOUT] [--reason TEXT]${action === 'abort' ? ' [--hold]' : ''}`,
  summary,
  options: { reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the control)' }, ...extra },
  examples: [`eplb rollout ${action} dsv3-a --reason "${action === 'abort' ? 'gain below noise' : 'look at the heat first'}"`],
  async run(line, { api, out }) {
    noMoreArguments(line, 2);
    const id = positional(line, 0, 'ID');
    let rolloutId = line.positionals[1];
    if (!rolloutId) {
      const u = unfinished(await api.listRollouts(id));
      if (!u) throw new NotFoundError(`${id} has no rollout in progress to ${action}`);
      rolloutId = u.rolloutId;
    }
    const hold = action === 'abort' && line.flag('hold');
    const r = await api.controlRollout(id, rolloutId, action, { reason: line.string('reason') ?? `${action} (eplb CLI)`, ...(hold ? { rollback: false } : {}) });
    out.show(r, (x) => [`${action} of rollout ${x.rolloutId} accepted; the rollout service applies it (eplb rollout status ${id} ${x.rolloutId})`]);
  },
});

export const ROLLOUT: CommandGroup<ApiContext> = {
  name: 'rollout',
  summary: 'Deploy map versions layer by layer through the API, watch and steer the rollouts.',
  common: OUTPUT_OPTIONS,
  verbs: {
    status: {
      args: 'ID [ROLLOUT]',
      summary: 'one rollout per layer and its measured outcome (default: the rollout in progress, else the latest)',
      examples: ['eplb rollout status dsv3-a'],
      async run(line, { api, out }) {
        noMoreArguments(line, 2);
        const id = positional(line, 0, 'ID');
        let rolloutId = line.positionals[1];
        if (!rolloutId) {
          const l = await api.listRollouts(id);
          const pick = unfinished(l) ?? l.items[l.items.length - 1];
          if (!pick) throw new NotFoundError(`${id} has no rollouts (layers on versions ${versionsNow(l).join(', ')})`);
          rolloutId = pick.rolloutId;
        }
        const s = await api.getRollout(id, rolloutId);
        out.show({ ...s, layersCommitted: committedCount(s), layersTotal: s.layers.length }, () => statusLines(s));
      },
    },
    history: {
      args: 'ID',
      summary: "the deployment's rollouts, oldest first, with the imbalance measured before→after each, and the version each layer is on now",
      examples: ['eplb rollout history dsv3-a'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        out.show(await api.listRollouts(positional(line, 0, 'ID')), (l) => [
          ...table(
            ['ROLLOUT', 'FROM', 'TO', 'STATUS', 'REQUESTED', 'FINISHED', 'BY', 'OUTCOME', 'REASON'],
            l.items.map((i) => [i.rolloutId, i.fromVersion ?? '-', i.mapVersion, i.status, when(i.requestedAt), when(i.finishedAt), i.requestedBy, outcomeCell(i), reasonOf(i)]),
          ),
          `layers now on version${versionsNow(l).length > 1 ? 's' : ''} ${versionsNow(l).join(', ')}${l.rebalancing ? ' (rebalancing)' : ''}`,
        ]);
      },
    },
    agents: {
      args: 'ID',
      summary: 'per node: connected on the control channel, Kafka only, stale or missing; last heard; versions held',
      examples: ['eplb rollout agents dsv3-a'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        const held = (h: Record<string, number> | null) => (h ? Object.entries(h).map(([v, n]) => `v${v}×${n}`).join(' ') : '-');
        out.show(await api.agents(positional(line, 0, 'ID')), (a) =>
          table(
            ['NODE', 'STATUS', 'RANKS', 'LAST HEARD', 'TOKEN', 'LAYERS HELD'],
            a.agents.map((x) => [x.node, x.status, x.ranks.length ? `${x.ranks[0]}-${x.ranks[x.ranks.length - 1]}` : '-', x.ageMs === null ? 'never' : `${(x.ageMs / 1000).toFixed(1)} s ago`, x.principal ?? '-', held(x.heldVersions)]),
          ),
        );
      },
    },
    start: {
      args: 'ID --to VERSION [--steps 1,4,rest] [--on-failure rollback|hold] [--bytes-per-second N] [--force]',
      summary: 'roll a map version out, layer by layer, in batches',
      options: START_OPTIONS,
      examples: ['eplb rollout start dsv3-a --to 4 --steps 1,4,rest', 'eplb rollout start dsv3-a --to 4 --on-failure hold -o json', 'eplb rollout start dsv3-a --to 4 --force'],
      async run(line, ctx) {
        const id = positional(line, 0, 'ID');
        noMoreArguments(line, 1, 'the version goes in --to');
        const to = versionOption(line, 'to');
        if (to === undefined) throw new UsageError('missing required option --to');
        await start(line, ctx, id, to, line.string('reason') ?? `roll out map version ${to} (eplb CLI)`);
      },
    },
    undo: {
      args: 'ID [--to VERSION] [--steps ...] [--on-failure ...]',
      summary: 'a new rollout to an earlier version (default: the version the current one came from)',
      options: START_OPTIONS,
      examples: ['eplb rollout undo dsv3-a', 'eplb rollout undo dsv3-a --to 2'],
      async run(line, ctx) {
        const id = positional(line, 0, 'ID');
        noMoreArguments(line, 1, 'the version goes in --to');
        const l = await ctx.api.listRollouts(id);
        const versions = versionsNow(l);
        const busy = unfinished(l);
        if (busy) throw new ConflictError(`rollout ${busy.rolloutId} of ${id} is not finished; abort it to undo what it committed`);
        let to = versionOption(line, 'to');
        if (to === undefined) {
          if (versions.length > 1) throw new ConflictError(`layers of ${id} are on versions ${versions.join(', ')}; name the version with --to`);
          const current = versions[0];
          // the version the rollout that brought the current one started from, else its parent
          const last = [...l.items].reverse().find((i) => i.status === ROLLOUT_STATUS.succeeded && i.mapVersion === current && i.fromVersion !== null);
          const parent = last ? last.fromVersion : (await ctx.api.getMapVersion(id, current)).parentVersion;
          if (parent === null) throw new NotFoundError(`${id} is on map version ${current}, which has no version before it`);
          to = parent;
        }
        if (versions.length === 1 && versions[0] === to) throw new ConflictError(`${id} is already on map version ${to}`);
        await start(line, ctx, id, to, line.string('reason') ?? `undo: back to map version ${to} from ${versions.join(', ')} (eplb CLI)`);
      },
    },
    pause: control('pause', 'pause the rollout after the layer in flight'),
    resume: control('resume', 'resume a paused rollout'),
    promote: control('promote', 'skip the remaining analysis gates and finish'),
    abort: control('abort', 'stop the rollout and roll committed layers back (--hold keeps them)', { hold: { type: 'boolean', help: 'keep committed layers (a later rollout starts each layer from where it is)' } }),
  },
};

/** `eplb rollout …`: deploy map versions layer by layer through the API, watch and steer them. */
export const rolloutCommand = (argv: string[], api: ApiClient = defaultApiClient()): Promise<number> => runApiGroup(ROLLOUT, argv, api);
