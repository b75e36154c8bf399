import { DEPLOYMENT_ID_RULE, isDeploymentId, SCENARIO_KINDS, ScenarioKind } from '@eplb/domain';
import { HEAT_PHASES, HeatPhase } from '@eplb/contracts';

/** A bad command line; main prints the message and the usage, exit code 2. */
export class UsageError extends Error {}

export const USAGE = `usage: npm run sim -- --deployment ID [options]
  --create L,E,R,S,N[,G]    register the deployment with this shape first (layers, experts, ranks, slots/rank, nodes, groups)
  --scenario NAME           stationary | drift | alternating | spikes | mix (= alternating,drift,spikes), or a comma list (default alternating)
  --steps N | --duration S  how long to run (default --steps 1024); Ctrl-C stops early, flushing what was generated
  --rate STEPS_PER_S        engine steps per second (default: as fast as the broker takes them)
  --episode-steps K         time scale of the dynamics: hot sets alternate every K steps, spikes last K/2, drift moves one expert per 4K (default 16)
  --steps-per-event K       steps summed into one event per rank (default 1)
  --start-step N            step number of the first step (default 0)
  --phase P                 decode | prefill | mixed (default decode)
  --tokens N                tokens per step over the deployment (default 128 per rank)
  --top-k K                 experts per token (default 8)
  --zipf X                  popularity skew exponent (default 0.5)
  --noise X                 per-step log-normal jitter sigma (default 0.1)
  --seed N                  PRNG seed (default 1)
  --api URL --token T       control-plane API (default http://127.0.0.1:3000 and the development operator token)
  --brokers LIST            Kafka brokers host:port,... (default KAFKA_BROKERS)
  --no-validate             skip the contract check per event (the simulator's events are well-formed by construction)
  --map-source SOURCE       where each layer's map in force comes from: api (default: per layer the version its
                            rollouts committed, GET .../rollouts, and that version's rows, GET .../maps/{version}) |
                            db (the same read from Postgres at DATABASE_URL) | static (version 1 as round-robin; default with --dry-run)
  --map-refresh-ms MS       how often the map source is asked for the map in force (default 1000)
  --dry-run                 generate and count, publish nothing (with --create: register nothing)`;

export interface CreateShape {
  readonly layers: number;
  readonly experts: number;
  readonly ranks: number;
  readonly slotsPerRank: number;
  readonly nodes: number;
  readonly groups?: number;
}

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
  readonly mapRefreshMs: number;
  readonly mapSource: MapSourceKind;
  readonly dryRun: boolean;
}

export const MAP_SOURCES = ['api', 'db', 'static'] as const;
export type MapSourceKind = (typeof MAP_SOURCES)[number];

const VALUES = [
  'deployment', 'create', 'scenario', 'steps', 'duration', 'rate', 'episode-steps', 'steps-per-event', 'start-step',
  'phase', 'tokens', 'top-k', 'zipf', 'noise', 'seed', 'api', 'token', 'brokers', 'map-refresh-ms', 'map-source',
];
const FLAGS = ['dry-run', 'no-validate', 'help'];

function parseRaw(argv: readonly string[]): Map<string, string | true> {
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (FLAGS.includes(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      options.set(name, true);
    } else if (VALUES.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`option --${name} needs a value`);
      options.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return options;
}

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
  const o = parseRaw(argv);
  if (o.has('help')) return 'help';
  const str = (k: string) => {
    const v = o.get(k);
    return typeof v === 'string' ? v : undefined;
  };
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
  const mapSource = str('map-source') ?? (o.has('dry-run') ? 'static' : 'api');
  if (!(MAP_SOURCES as readonly string[]).includes(mapSource)) throw new UsageError(`--map-source must be one of ${MAP_SOURCES.join(', ')}, got ${mapSource}`);
  if (o.has('dry-run') && mapSource !== 'static') throw new UsageError('--dry-run simulates the static map only (--map-source static)');
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
    validate: !o.has('no-validate'),
    mapRefreshMs: intOf('map-refresh-ms', str('map-refresh-ms') ?? '1000', 10),
    mapSource: mapSource as MapSourceKind,
    dryRun: o.has('dry-run'),
  };
}
