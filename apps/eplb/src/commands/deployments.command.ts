import { readFileSync } from 'node:fs';
import type { ApiClient } from '@eplb/api-client';
import { CommandLine, requiredOption, UsageError } from '@eplb/cli';
import type { CreateDeploymentRequest, DeploymentResponse, PolicyRunResponse, PolicySettingsBody, SettingsResponse } from '@eplb/contracts';
import { ApiContext, runApiGroup } from '../api-context';
import { CommandGroup, noMoreArguments, positional } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { explainMissingAgents } from '../missing-agents';
import { formatSteps, parseSteps } from '../steps';
import { OUTPUT_OPTIONS, table, when } from '../output';

const num = (line: CommandLine, name: string): number | undefined => {
  const v = line.string(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
};

const shapeText = (d: DeploymentResponse): string => {
  const s = d.shape;
  return `${s.layers}×${s.experts} on ${s.ranks}×${s.slotsPerRank} (${s.nodes} node${s.nodes === 1 ? '' : 's'}${s.groups ? `, ${s.groups} groups` : ''})`;
};

const settingsLines = (s: Partial<PolicySettingsBody> & Pick<PolicySettingsBody, 'policy' | 'mode' | 'phase' | 'cadenceSeconds' | 'threshold' | 'minGain' | 'maxTransfers' | 'expertBytes'> & { settingsVersion?: number; version?: number; modeSince?: string }): string[] => [
  `policy      ${s.policy} (mode ${s.mode}${s.modeSince ? ` since ${when(s.modeSince)}` : ''}, phase ${s.phase})`,
  `cadence     ${s.cadenceSeconds ? `every ${s.cadenceSeconds} s` : 'off'}`,
  `threshold   ${s.threshold}   min gain ${s.minGain}   max transfers ${s.maxTransfers ?? 'none'}   expert bytes ${s.expertBytes}`,
  ...(s.rolloutSteps
    ? [
        `rollouts    steps ${formatSteps(s.rolloutSteps)}   on failure ${s.rolloutOnFailure ?? '-'}   bytes/s ${s.rolloutBytesPerSecond ?? "the agents' own"}   automatic ${s.maxAutoRolloutsPerHour === 0 ? 'off (0 per hour)' : `at most ${s.maxAutoRolloutsPerHour ?? '-'} per hour`}`,
      ]
    : []),
  `version     ${s.settingsVersion ?? s.version}`,
];

const deploymentLines = (d: DeploymentResponse): string[] => [
  `deployment  ${d.id}  (registered ${when(d.createdAt)})`,
  `shape       ${shapeText(d)}  layers×experts on ranks×slots`,
  `windows     episode ${d.windows.episodeSteps} steps, interval ${d.windows.intervalSteps}, lateness ${d.windows.latenessSteps}`,
  `maps        latest version ${d.mapVersion}`,
  ...settingsLines(d.settings),
];

/** A number the run recorded in its figures (imbalance means, transfers), or `-`. */
const figure = (r: PolicyRunResponse, name: string, digits: number): string => {
  const v = r.figures[name];
  return typeof v === 'number' ? v.toFixed(digits) : '-';
};

const SETTINGS_OPTIONS = {
  policy: { type: 'string', value: 'NAME', help: 'placement policy (default, greedy, flash, incremental)' },
  cadence: { type: 'string', value: 'SECONDS', help: 'seconds between scheduled runs (0: off)' },
  threshold: { type: 'string', value: 'X', help: 'imbalance above which a layer is worth planning' },
  'min-gain': { type: 'string', value: 'X', help: 'least imbalance gain a layer must bring' },
  'max-transfers': { type: 'string', value: 'N|none', help: 'transfer budget per rollout' },
  phase: { type: 'string', value: 'PHASE', help: 'decode, prefill or mixed' },
  mode: { type: 'string', value: 'MODE', help: 'observe, approve or auto' },
  'expert-bytes': { type: 'string', value: 'N', help: "bytes of one expert's weights" },
  'rollout-steps': { type: 'string', value: 'STEPS', help: "automatic and approve-and-deploy rollouts' batches, :gate for an analysis gate, e.g. 1:gate,rest" },
  'rollout-on-failure': { type: 'string', value: 'rollback|hold', help: 'such a rollout on failure: roll committed layers back, or hold them' },
  'rollout-bytes-per-second': { type: 'string', value: 'N|none', help: "cap on what each agent takes in per second during such a rollout (none: the agents' own)" },
  'max-auto-rollouts-per-hour': { type: 'string', value: 'N', help: 'the automatic loop starts at most N rollouts an hour (0: none)' },
} as const;

const wholeNumber = (line: CommandLine, name: string, min: number): number | undefined => {
  const v = line.string(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return Number(v);
};

function rolloutOnFailure(line: CommandLine): 'rollback' | 'hold' | undefined {
  const v = line.string('rollout-on-failure');
  if (v === undefined || v === 'rollback' || v === 'hold') return v;
  throw new UsageError(`--rollout-on-failure must be rollback or hold, got "${v}"`);
}

function settingsPatch(line: CommandLine): Partial<PolicySettingsBody> {
  const maxTransfers = line.string('max-transfers');
  const patch = {
    policy: line.string('policy'),
    cadenceSeconds: num(line, 'cadence'),
    threshold: num(line, 'threshold'),
    minGain: num(line, 'min-gain'),
    maxTransfers: maxTransfers === 'none' ? null : num(line, 'max-transfers'),
    phase: line.string('phase'),
    mode: line.string('mode') as PolicySettingsBody['mode'] | undefined,
    expertBytes: num(line, 'expert-bytes'),
    rolloutSteps: line.string('rollout-steps') === undefined ? undefined : parseSteps(line.string('rollout-steps')!, '--rollout-steps'),
    rolloutOnFailure: rolloutOnFailure(line),
    rolloutBytesPerSecond: line.string('rollout-bytes-per-second') === 'none' ? null : wholeNumber(line, 'rollout-bytes-per-second', 1),
    maxAutoRolloutsPerHour: wholeNumber(line, 'max-auto-rollouts-per-hour', 0),
  };
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
}

const decision = (r: PolicyRunResponse): string => (r.decision ? `${r.decision.decision}${r.decision.mapVersion ? ` → v${r.decision.mapVersion}` : ''}` : '-');

export const DEPLOYMENTS: CommandGroup<ApiContext> = {
  name: 'deployments',
  summary: 'The deployment registry, policy settings, proposals and the automatic loop, through the API (EPLB_API_URL, EPLB_TOKEN).',
  common: OUTPUT_OPTIONS,
  verbs: {
    list: {
      args: '',
      summary: 'list deployments: shape, latest map version, policy and mode',
      options: { limit: { type: 'string', value: 'N', help: 'at most N (default 100)' }, after: { type: 'string', value: 'ID', help: 'the page after this id' } },
      examples: ['eplb deployments list'],
      async run(line, { api, out }) {
        noMoreArguments(line, 0);
        const limit = num(line, 'limit');
        out.show(await api.listDeployments({ limit, after: line.string('after') }), (r) => [
          ...table(
            ['ID', 'SHAPE', 'MAP', 'POLICY', 'MODE', 'CADENCE', 'CREATED'],
            r.items.map((d) => [d.id, shapeText(d), d.mapVersion, d.settings.policy, d.settings.mode, d.settings.cadenceSeconds ? `${d.settings.cadenceSeconds} s` : 'off', when(d.createdAt)]),
          ),
          ...(r.next ? [`(more: eplb deployments list --after ${r.next})`] : []),
        ]);
      },
    },
    show: {
      args: 'ID',
      summary: "one deployment: shape, windows, latest map version, settings",
      examples: ['eplb deployments show dsv3-a'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        out.show(await api.getDeployment(positional(line, 0, 'ID')), deploymentLines);
      },
    },
    create: {
      args: '--file DEPLOYMENT.json',
      summary: 'register a deployment (the file is the body of POST /v1/deployments)',
      options: { file: { type: 'string', value: 'FILE', help: 'id, shape, windows, initialMap, settings as JSON' } },
      examples: ['eplb deployments create --file dsv3-a.json'],
      async run(line, { api, out }) {
        noMoreArguments(line, 0);
        const body = JSON.parse(readFileSync(requiredOption(line, 'file'), 'utf8')) as CreateDeploymentRequest;
        out.show(await api.createDeployment(body), (d) => [`registered deployment ${d.id}: ${shapeText(d)}, map version ${d.mapVersion}`]);
      },
    },
    settings: {
      args: 'ID [--policy P] [--cadence S] [--mode M] [--rollout-steps 1:gate,rest] [--rollout-on-failure rollback|hold] ...',
      summary: 'show policy settings, or change the ones given (a new settings version)',
      options: SETTINGS_OPTIONS,
      examples: ['eplb deployments settings dsv3-a --mode approve --cadence 300', 'eplb deployments settings dsv3-a', 'eplb deployments settings dsv3-a --rollout-steps 1:gate,4,rest --rollout-bytes-per-second none --max-auto-rollouts-per-hour 2'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        const id = positional(line, 0, 'ID');
        const patch = settingsPatch(line);
        const s: SettingsResponse = Object.keys(patch).length ? await api.updateSettings(id, patch) : await api.getSettings(id);
        out.show(s, settingsLines);
      },
    },
    loop: {
      args: 'ID',
      summary: "the automatic loop: the deployment's mode, its last decision (deploy, wait, discard, trip, emergency) and why",
      examples: ['eplb deployments loop dsv3-a'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        out.show(await api.loopStatus(positional(line, 0, 'ID')), (l) => [
          `mode        ${l.mode} since ${when(l.modeSince)}   automatic rollouts ${l.maxAutoRolloutsPerHour === 0 ? 'off (0 per hour)' : `at most ${l.maxAutoRolloutsPerHour} per hour`}`,
          l.lastDecision
            ? `decision    ${l.lastDecision.kind} at ${when(l.lastDecision.at)}: ${l.lastDecision.reason}`
            : `decision    none yet${l.mode === 'observe' ? ' (observe mode: the loop deploys nothing)' : ' (the rollout service has not looked at it yet)'}`,
        ]);
      },
    },
    runs: {
      args: 'ID [--status proposed|nothing|failed] [--limit N]',
      summary: 'policy runs, newest first: proposals, "nothing worth deploying" decisions, failures',
      options: {
        status: { type: 'string', value: 'STATUS', help: 'proposed, nothing or failed' },
        limit: { type: 'string', value: 'N', help: 'at most N (default 20)' },
      },
      examples: ['eplb deployments runs dsv3-a --status proposed'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        const r = await api.listRuns(positional(line, 0, 'ID'), { status: line.string('status'), limit: num(line, 'limit') });
        out.show(r, (x) =>
          table(
            ['RUN', 'CREATED', 'STATUS', 'POLICY', 'PHASE', 'INTERVAL', 'BASE', 'IMBALANCE', 'TRANSFERS', 'DECISION', 'REASON'],
            x.items.map((run) => [
              run.id,
              when(run.createdAt),
              run.status,
              run.policy,
              run.phase,
              run.interval,
              `v${run.baseMapVersion}`,
              run.status === 'proposed' || run.status === 'nothing' ? `${figure(run, 'currentMean', 3)} → ${figure(run, 'candidateMean', 3)}` : '-',
              figure(run, 'transfers', 0),
              decision(run),
              run.reason,
            ]),
          ),
        );
      },
    },
    approve: {
      args: 'ID RUN --reason TEXT [--deploy] [--force]',
      summary: 'approve a proposal: its candidate becomes the next map version (--deploy: and roll it out)',
      options: {
        reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the event)' },
        deploy: { type: 'boolean', help: "request the new version's rollout in the same call, with the deployment's rollout settings (approve mode)" },
        force: { type: 'boolean', help: 'with --deploy: queue the rollout even when nodes it needs have no live agent' },
      },
      examples: ['eplb deployments approve dsv3-a 6f1c… --reason "gain 0.12, reviewed"', 'eplb deployments approve dsv3-a 6f1c… --reason "reviewed" --deploy'],
      async run(line, { api, out }) {
        noMoreArguments(line, 2);
        const id = positional(line, 0, 'ID');
        const run = positional(line, 1, 'RUN');
        const reason = requiredOption(line, 'reason');
        const deploy = line.flag('deploy');
        const force = line.flag('force');
        if (force && !deploy) throw new UsageError('--force goes with --deploy (it queues the rollout past nodes without a live agent)');
        const r = await explainMissingAgents(api, id, () => api.approveRun(id, run, reason, { ...(deploy ? { deploy } : {}), ...(force ? { force } : {}) }));
        out.show(r, (x) => [
          x.rollout
            ? `run ${run} approved: map version ${x.mapVersion}; rollout ${x.rollout.rolloutId} requested: ${x.rollout.status} (eplb rollout status ${id} ${x.rollout.rolloutId})`
            : `run ${run} approved: map version ${x.mapVersion} (eplb rollout start ${id} --to ${x.mapVersion})`,
        ]);
      },
    },
    reject: {
      args: 'ID RUN --reason TEXT',
      summary: 'reject a proposal, with the reason',
      options: { reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the event)' } },
      examples: ['eplb deployments reject dsv3-a 6f1c… --reason "too many transfers"'],
      async run(line, { api, out }) {
        noMoreArguments(line, 2);
        const run = positional(line, 1, 'RUN');
        out.show(await api.rejectRun(positional(line, 0, 'ID'), run, requiredOption(line, 'reason')), () => [`run ${run} rejected`]);
      },
    },
  },
};

/** `eplb deployments …`: the deployment registry, policy settings and proposals, through the API. */
export const deploymentsCommand = (argv: string[], api: ApiClient = defaultApiClient()): Promise<number> => runApiGroup(DEPLOYMENTS, argv, api);
