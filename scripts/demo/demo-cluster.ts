import { join } from 'node:path';
import type { KafkaPrincipal } from '@eplb/contracts';
import { type AppConfig, nodeFlagsOf } from '@eplb/platform';
import type { ProcessSpec } from '../supervisor';

/**
 * The demo cluster `npm start` runs by default (an embedded sample, like a database's sample
 * data): deployment `demo`, 16 MoE layers × 64 experts on 2 nodes × 4 ranks × 10 slots, heat from
 * the simulator's router model with skewed, drifting and alternating hot sets,
 * two agents with simulated device backends, in `auto` mode with a short cadence.
 *
 * Weights are scaled down, time is not: a simulated expert is 64 KiB and each agent sends at most
 * 3 MB/s, so one expert takes ~22 ms to move — what a DeepSeek-V3 expert (~44 MB) takes at 2 GB/s
 * of spare link bandwidth — while the agents hold 40 MB each instead of 28 GB.
 */
export const DEMO = {
  id: 'demo',
  shape: { layers: 16, experts: 64, ranks: 8, slotsPerRank: 10, nodes: 2 },
  /** 16-step episodes, 256-step intervals (16 episodes to plan from): at 20 steps/s an interval is sealed every ~13 s. */
  windows: { episodeSteps: 16, intervalSteps: 256, latenessSteps: 32 },
  /**
   * What the launcher PATCHes when it creates the deployment (later starts keep what an operator
   * set). The demo runs time about 20× faster than a production deployment (an interval every
   * ~13 s, a policy run every 10 s), so its cap on automatic rollouts is scaled the same way:
   * the production default (6 an hour) would stop the loop after its first few minutes; 60 is the
   * most the settings take.
   */
  settings: { mode: 'auto', cadenceSeconds: 10, threshold: 0.05, minGain: 0.02, expertBytes: 64 * 1024, maxAutoRolloutsPerHour: 60 },
  stepsPerSecond: 20,
  agentBytesPerSecond: 3_000_000,
  /**
   * The simulator's router model: Zipf-skewed popularity, two hot sets alternating every 64 steps,
   * the ranking drifting by one expert every 2048 steps (~100 s, 8 intervals). The drift is slower
   * than the loop can react by design: a plan is made from a sealed interval, rolled out, judged by
   * the gate and measured over one more interval before the next automatic rollout (the cool-down)
   * — three to four intervals — so a hot set that moved on every interval would outrun any loop
   * with those guards. Not `mix`: its random spikes (12× an expert's mean for a few steps,
   * anywhere) dominate per-episode imbalance at this size and no map can follow them
   * (docs/design.md: "where spikes are random, no worse").
   */
  simulator: ['--scenario', 'alternating,drift', '--zipf', '1.0', '--top-k', '8', '--tokens', '1024', '--noise', '0.05', '--seed', '7', '--episode-steps', '64', '--drift-steps', '2048'],
} as const;

/** Where the demo keeps what it must find again on the next start: EPLB_DEMO_STATE_DIR, else .data/demo (git-ignored). */
export const demoStateDir = (root: string, env: NodeJS.ProcessEnv = process.env): string => env.EPLB_DEMO_STATE_DIR || join(root, '.data', 'demo');

/** Whether `npm start` runs the demo: not with `--no-demo` or EPLB_DEMO=0|false|no. */
export function demoWanted(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (argv.includes('--no-demo')) return false;
  return !/^(0|false|no|off)$/i.test(env.EPLB_DEMO ?? '');
}

/** What the demo's processes need from the setup: tokens, the agents' initial map file, the first step. */
export interface DemoRun {
  readonly agentTokens: readonly string[];
  readonly simulatorToken: string;
  readonly mapFile: string;
  readonly startStep: number;
}

/** Ports of the demo agents: health at AGENT_PORT + node, peer transfers at AGENT_PORT + 40 + node. */
export const agentHealthPort = (config: AppConfig, node: number): number => config.AGENT_PORT + node;
const peerPort = (config: AppConfig, node: number): number => config.AGENT_PORT + 40 + node;

/**
 * The demo's supervised processes: one agent per node and the simulator following the committed
 * maps; `kafkaEnv` says how each connects as its principal (agent, worker) on a secured broker.
 */
export function demoProcesses(
  config: AppConfig,
  stateDir: string,
  run: DemoRun,
  env: NodeJS.ProcessEnv = process.env,
  kafkaEnv: (principal: KafkaPrincipal) => Record<string, string> = () => ({}),
): ProcessSpec[] {
  const nodes = DEMO.shape.nodes;
  const peers = Array.from({ length: nodes }, (_, n) => `${n}=127.0.0.1:${peerPort(config, n)}`).join(',');
  // the rollout service's control channel (its own settings: ROLLOUT_CONTROL_HOST/PORT)
  const control = `${env.ROLLOUT_CONTROL_HOST || '127.0.0.1'}:${env.ROLLOUT_CONTROL_PORT || '3473'}`;
  const agents: ProcessSpec[] = Array.from({ length: nodes }, (_, n) => ({
    name: `demo-agent-${n}`,
    script: join('apps', 'agent', 'src', 'main.js'),
    nodeFlags: nodeFlagsOf('agent'),
    env: {
      AGENT_PORT: String(agentHealthPort(config, n)),
      AGENT_DEPLOYMENT: DEMO.id,
      AGENT_NODE: String(n),
      AGENT_TOKEN: run.agentTokens[n],
      AGENT_MAP_FILE: run.mapFile,
      AGENT_LISTEN_PORT: String(peerPort(config, n)),
      AGENT_PEERS: peers,
      AGENT_CONTROL_ENDPOINTS: control,
      AGENT_EXPERT_BYTES: String(DEMO.settings.expertBytes),
      AGENT_BYTES_PER_SECOND: String(DEMO.agentBytesPerSecond),
      // the simulated device memory survives restarts of the demo (layers stay on what they committed)
      AGENT_STATE_DIR: join(stateDir, `agent-${n}`),
      ...kafkaEnv('agent'),
    },
  }));
  const simulator: ProcessSpec = {
    name: 'demo-simulator',
    script: join('apps', 'simulator', 'src', 'main.js'),
    args: [
      '--deployment', DEMO.id,
      ...DEMO.simulator,
      '--rate', String(DEMO.stepsPerSecond),
      '--duration', String(365 * 86_400),
      '--start-step', String(run.startStep),
      '--map-source', 'api',
      '--map-refresh-ms', '500',
      '--api', `http://${config.HTTP_HOST}:${config.API_PORT}`,
      '--token', run.simulatorToken,
      '--no-validate',
    ],
    env: kafkaEnv('worker'),
    // it logs every map change it follows: the log file has them, the console would drown
    echoStderr: false,
  };
  return [...agents, simulator];
}

/**
 * The simulator's first step: step numbers follow the wall clock (steps per second × seconds since
 * the epoch, at the next interval boundary), so a restarted demo continues after the heat already
 * stored instead of reporting steps the collector has sealed.
 */
export function demoStartStep(nowMs: number): number {
  const { intervalSteps } = DEMO.windows;
  return Math.ceil((Math.floor(nowMs / 1000) * DEMO.stepsPerSecond) / intervalSteps) * intervalSteps;
}
