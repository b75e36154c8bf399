import { CommandLine, formatHelp, parseCommandLine, UsageError } from '@eplb/cli';
import { DeploymentShapeBody, HEAT_PHASES, HeatPhase } from '@eplb/contracts';
import { DEPLOYMENT_ID_RULE, isDeploymentId, SCENARIO_KINDS, ScenarioKind } from '@eplb/domain';

/** Every option of `npm run sim`, with its help line. */
export const SIM_OPTIONS = {
  deployment: { type: 'string', value: 'ID', help: 'the deployment to simulate (required)' },
  create: { type: 'string', value: 'L,E,R,S,N[,G]', help: 'register the deployment with this shape first (layers, experts, ranks, slots/rank, nodes, groups)' },
  scenario: { type: 'string', value: 'NAME', help: 'stationary | drift | alternating | spikes | mix (= alternating,drift,spikes), or a comma list (default alternating)' },
  steps: { type: 'string', value: 'N', help: 'how many engine steps to run (default 1024); Ctrl-C stops early, flushing what was generated' },
  duration: { type: 'string', value: 'S', help: 'how many seconds to run, instead of --steps' },
  rate: { type: 'string', value: 'STEPS_PER_S', help: 'engine steps per second (default: as fast as the broker takes them)' },
  'episode-steps': { type: 'string', value: 'K', help: 'time scale of the dynamics: hot sets alternate every K steps, spikes last K/2, drift moves one expert per 4K (default 16)' },
  'drift-steps': { type: 'string', value: 'N', help: 'drift alone on its own time scale: the popularity ranking moves on by one expert every N steps (default 4K)' },
  'steps-per-event': { type: 'string', value: 'K', help: 'steps summed into one event per rank (default 1)' },
  'start-step': { type: 'string', value: 'N', help: 'step number of the first step (default 0)' },
  phase: { type: 'string', value: 'P', help: 'decode | prefill | mixed (default decode)' },
  tokens: { type: 'string', value: 'N', help: 'tokens per step over the deployment (default 128 per rank)' },
  'top-k': { type: 'string', value: 'K', help: 'experts per token (default 8)' },
  zipf: { type: 'string', value: 'X', help: 'popularity skew exponent (default 0.5)' },
  noise: { type: 'string', value: 'X', help: 'per-step log-normal jitter sigma (default 0.1)' },
  seed: { type: 'string', value: 'N', help: 'PRNG seed (default 1)' },
  api: { type: 'string', value: 'URL', help: 'control-plane API (default http://127.0.0.1:3000)' },
  token: { type: 'string', value: 'T', help: 'API token (default EPLB_TOKEN, else the development operator token)' },
  brokers: { type: 'string', value: 'LIST', help: 'Kafka brokers host:port,... (default KAFKA_BROKERS; KAFKA_SASL_* authenticate as the worker principal)' },
  encoding: { type: 'string', value: 'V', help: 'v1 (JSON, default) | v2 (binary rows the collector reads without parsing text)' },
  'no-validate': { type: 'boolean', help: "skip the contract check per event (the simulator's events are well-formed by construction)" },
  'map-source': {
    type: 'string',
    value: 'SOURCE',
    help: 'where each layer\'s map in force comes from: api (default: per layer the version its rollouts committed, GET .../rollouts, and that version\'s rows, GET .../maps/{version}) | db (the same read from Postgres at DATABASE_URL) | static (version 1 as round-robin; default with --dry-run)',
  },
  'map-refresh-ms': { type: 'string', value: 'MS', help: 'how often the map source is asked for the map in force (default 1000)' },
  'dry-run': { type: 'boolean', help: 'generate and count, publish nothing (with --create: register nothing)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const USAGE = formatHelp({
  usage: ['npm run sim -- --deployment ID [options]'],
  summary: 'A simulated MoE cluster publishing per-slot heat to Kafka, following the maps its layers committed.',
  options: SIM_OPTIONS,
  examples: ['npm run sim -- --deployment sim-a --create 8,64,8,10,2 --scenario mix --rate 20 --duration 60'],
}).trimEnd();

/** The shape `--create` registers, as the API's body spells it. */
export type CreateShape = DeploymentShapeBody & { groups?: number };

export interface SimOptions {
  readonly deployment: string;
  readonly create: CreateShape | null;
  readonly scenarios: readonly ScenarioKind[];
  readonly scenarioName: string;
  /** Exactly one of steps / durationMs limits the run. */
  readonly steps: number | null;
  readonly durationMs: number | null;
  /** null: as fast as possible. */
  readonly rate: number | null;
  readonly episodeSteps: number;
  /** Steps for the drift to move the ranking by one expert; null: 4 × episodeSteps. */
  readonly driftSteps: number | null;
  readonly stepsPerEvent: number;
  readonly startStep: number;
  readonly phase: HeatPhase;
  readonly tokensPerStep: number | null;
  readonly topK: number;
  readonly zipf: number;
  readonly noise: number;
  readonly seed: number;
  readonly api: string;
  readonly token: string;
  readonly brokers: readonly string[] | null;
  readonly validate: boolean;
  readonly encoding: 'v1' | 'v2';
  readonly mapRefreshMs: number;
  readonly mapSource: MapSourceKind;
  readonly dryRun: boolean;
}

export const MAP_SOURCES = ['api', 'db', 'static'] as const;
export type MapSourceKind = (typeof MAP_SOURCES)[number];

const encodingOf = (v: string): 'v1' | 'v2' => {
  if (v !== 'v1' && v !== 'v2') throw new UsageError(`--encoding: must be v1 or v2, got ${v}`);
  return v;
};

const intOf = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
const numOf = (name: string, v: string, min: number, exclusive = false): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || (exclusive && n === min)) {
    throw new UsageError(`--${name} must be a number ${exclusive ? '>' : '≥'} ${min}, got ${v}`);
  }
  return n;
};

export function parseScenario(v: string): ScenarioKind[] {
  if (v === 'mix') return ['alternating', 'drift', 'spikes'];
  const kinds = v.split(',').map((s) => s.trim());
  for (const k of kinds) {
    if (!(SCENARIO_KINDS as readonly string[]).includes(k)) throw new UsageError(`--scenario: unknown ${k} (stationary, drift, alternating, spikes, mix)`);
  }
  return kinds as ScenarioKind[];
}

export function parseCreate(v: string): CreateShape {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length !== 5 && parts.length !== 6) throw new UsageError(`--create wants L,E,R,S,N[,G], got ${v}`);
  const [layers, experts, ranks, slotsPerRank, nodes, groups] = parts.map((p) => intOf('create', p, 1));
  if (ranks * slotsPerRank < experts) throw new UsageError(`--create: ${ranks}×${slotsPerRank} slots cannot hold ${experts} experts`);
  if (ranks % nodes !== 0) throw new UsageError(`--create: ${nodes} nodes do not divide ${ranks} ranks`);
  return groups === undefined ? { layers, experts, ranks, slotsPerRank, nodes } : { layers, experts, ranks, slotsPerRank, nodes, groups };
}

/** Parses the command line; `defaults` carries what comes from the environment. */
export function parseSimArgs(argv: readonly string[], defaults: { token: string; api?: string }): SimOptions | 'help' {
  const o: CommandLine = parseCommandLine(argv, SIM_OPTIONS);
  if (o.flag('help')) return 'help';
  if (o.positionals.length > 0) throw new UsageError(`unexpected argument ${o.positionals[0]}`);
  const str = (k: keyof typeof SIM_OPTIONS) => o.string(k);
  const deployment = str('deployment');
  if (!deployment) throw new UsageError('missing required option --deployment');
  if (!isDeploymentId(deployment)) {
    throw new UsageError(`--deployment must be a deployment id (${DEPLOYMENT_ID_RULE}), got ${deployment}`);
  }
  if (o.has('steps') && o.has('duration')) throw new UsageError('give --steps or --duration, not both');
  const duration = str('duration');
  const steps = str('steps');
  const phase = str('phase') ?? 'decode';
  if (!(HEAT_PHASES as readonly string[]).includes(phase)) throw new UsageError(`--phase must be one of ${HEAT_PHASES.join(', ')}, got ${phase}`);
  const scenarioName = str('scenario') ?? 'alternating';
  const brokers = str('brokers');
  if (brokers !== undefined && !brokers.split(',').every((b) => /^[^:\s]+:\d+$/.test(b.trim()))) {
    throw new UsageError(`--brokers must be host:port[,host:port...], got ${brokers}`);
  }
  const mapSource = str('map-source') ?? (o.flag('dry-run') ? 'static' : 'api');
  if (!(MAP_SOURCES as readonly string[]).includes(mapSource)) throw new UsageError(`--map-source must be one of ${MAP_SOURCES.join(', ')}, got ${mapSource}`);
  if (o.flag('dry-run') && mapSource !== 'static') throw new UsageError('--dry-run simulates the static map only (--map-source static)');
  const api = str('api') ?? defaults.api ?? 'http://127.0.0.1:3000';
  if (!/^https?:\/\/[^\s]+$/.test(api)) throw new UsageError(`--api must be an http(s) URL, got ${api}`);
  return {
    deployment,
    create: str('create') !== undefined ? parseCreate(str('create')!) : null,
    scenarios: parseScenario(scenarioName),
    scenarioName,
    steps: duration !== undefined ? null : steps !== undefined ? intOf('steps', steps, 1) : 1024,
    durationMs: duration !== undefined ? numOf('duration', duration, 0, true) * 1000 : null,
    rate: str('rate') !== undefined ? numOf('rate', str('rate')!, 0, true) : null,
    episodeSteps: intOf('episode-steps', str('episode-steps') ?? '16', 1),
    driftSteps: str('drift-steps') !== undefined ? intOf('drift-steps', str('drift-steps')!, 1) : null,
    stepsPerEvent: intOf('steps-per-event', str('steps-per-event') ?? '1', 1),
    startStep: intOf('start-step', str('start-step') ?? '0', 0),
    phase: phase as HeatPhase,
    tokensPerStep: str('tokens') !== undefined ? intOf('tokens', str('tokens')!, 0) : null,
    topK: intOf('top-k', str('top-k') ?? '8', 1),
    zipf: numOf('zipf', str('zipf') ?? '0.5', 0),
    noise: numOf('noise', str('noise') ?? '0.1', 0),
    seed: intOf('seed', str('seed') ?? '1', 0),
    api: api.replace(/\/+$/, ''),
    token: str('token') ?? defaults.token,
    brokers: brokers ? brokers.split(',').map((b) => b.trim()) : null,
    validate: !o.flag('no-validate'),
    encoding: encodingOf(str('encoding') ?? 'v1'),
    mapRefreshMs: intOf('map-refresh-ms', str('map-refresh-ms') ?? '1000', 10),
    mapSource: mapSource as MapSourceKind,
    dryRun: o.flag('dry-run'),
  };
}
