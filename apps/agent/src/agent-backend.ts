import { DeviceBackend, SimulatedBackend, SimulatedBackendSnapshot, TorchBackend } from '@eplb/device';
import type { DeploymentShape } from '@eplb/domain';
import type { AgentSettings } from './agent-settings';

/** The map the engine serves at start (AGENT_MAP_FILE). */
export interface AgentMapFile {
  readonly shape: DeploymentShape;
  readonly version: number;
  readonly physicalToLogical: number[][];
}

/** The device backend an agent drives, with what the agent app needs around it. */
export interface AgentBackend {
  readonly kind: AgentSettings['AGENT_BACKEND'];
  readonly backend: DeviceBackend;
  readonly ranks: number[];
  /** Starts serving peers / connects to the ranks' bridges; the simulated backend's peer port. */
  start(): Promise<number | null>;
  /** The device memory to keep across agent restarts; null when the engine keeps it (torch). */
  snapshot(): SimulatedBackendSnapshot | null;
  restore(saved: SimulatedBackendSnapshot | null): void;
  stagedLayers(): number[];
  close(): Promise<void>;
}

/** AGENT_BACKEND picks the backend: `simulated` (byte buffers over our own TCP) or `torch` (the ranks' bridges). */
export function createAgentBackend(s: AgentSettings, map: AgentMapFile): AgentBackend {
  if (s.AGENT_BACKEND === 'torch') {
    const torch = new TorchBackend({
      shape: map.shape,
      agent: s.AGENT_NODE,
      sockets: s.AGENT_BRIDGE_SOCKETS,
      prepareTimeoutMs: s.AGENT_BRIDGE_PREPARE_TIMEOUT_MS,
      commitTimeoutMs: s.AGENT_BRIDGE_COMMIT_TIMEOUT_MS,
    });
    return {
      kind: 'torch',
      backend: torch,
      ranks: torch.ranks,
      start: async () => {
        await torch.connect();
        return null;
      },
      snapshot: () => null,
      restore: (saved) => {
        // the weights live in the engine's memory, which the bridges describe; a saved simulated
        // memory is another backend's and says nothing about them
        if (saved) throw new Error('the saved agent state holds a simulated device memory; AGENT_BACKEND=torch keeps none');
      },
      stagedLayers: () => [...torch.stagedChecksums.keys()].sort((a, b) => a - b),
      close: () => torch.close(),
    };
  }
  const sim = new SimulatedBackend({
    shape: map.shape,
    agent: s.AGENT_NODE,
    map: map.physicalToLogical,
    version: map.version,
    expertBytes: s.AGENT_EXPERT_BYTES,
    ...(s.AGENT_BYTES_PER_SECOND ? { bytesPerSecond: s.AGENT_BYTES_PER_SECOND } : {}),
    ...(s.AGENT_FAULT_PREPARE_DELAY_MS > 0 ? { faults: { delayMs: s.AGENT_FAULT_PREPARE_DELAY_MS } } : {}),
    ...(s.AGENT_FAULT_COMMIT_DELAY_MS > 0 ? { stepBoundary: () => new Promise<void>((r) => setTimeout(r, s.AGENT_FAULT_COMMIT_DELAY_MS)) } : {}),
  });
  return {
    kind: 'simulated',
    backend: sim,
    ranks: sim.ranks,
    start: async () => {
      const port = await sim.listen(s.AGENT_LISTEN_PORT);
      sim.setPeers(s.AGENT_PEERS);
      return port;
    },
    snapshot: () => sim.snapshot(),
    restore: (saved) => {
      if (saved) sim.restore(saved);
    },
    stagedLayers: () => sim.stagedLayers(),
    close: () => sim.close(),
  };
}
