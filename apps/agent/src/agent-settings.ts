import { z } from 'zod';
import { deploymentIdSchema } from '@eplb/contracts';
import { parseControlEndpoints } from '@eplb/messaging';

/**
 * The agent's own settings (beside the platform's AppConfig):
 * - AGENT_DEPLOYMENT, AGENT_NODE: whose commands it takes; it serves that node's ranks.
 * - AGENT_MAP_FILE: JSON `{ shape: {numLayers, numExperts, numRanks, slotsPerRank, numNodes},
 *   version, physicalToLogical }` — the map the engine serves at start (the simulated backend
 *   fills its weight buffers from it; a real engine bridge would describe itself instead).
 * - AGENT_BACKEND: `simulated` (default: byte buffers moved over our own TCP) or `torch` (the
 *   node's engine ranks move their weights with torch.distributed through their bridges,
 *   python/eplb_bridge); AGENT_BRIDGE_SOCKETS: `rank=path,...`, each rank's bridge socket (torch);
 *   AGENT_BRIDGE_PREPARE_TIMEOUT_MS / AGENT_BRIDGE_COMMIT_TIMEOUT_MS: how long a bridge waits for
 *   its transfer's peers / for the engine's step boundary.
 * - AGENT_LISTEN_PORT: TCP port (loopback) where the simulated backend serves peer fetches.
 * - AGENT_PEERS: `node=host:port,...` of the other agents' backends.
 * - AGENT_EXPERT_BYTES: size of one expert's weights in the simulated backend.
 * - AGENT_BYTES_PER_SECOND: optional cap on bytes sent to peers.
 * - AGENT_STATE_DIR: where the agent keeps its state across restarts (agent-state.ts), default
 *   /var/lib/eplb-agent; AGENT_STATE_EPHEMERAL=true: none (tests, simulations; not in production).
 * - AGENT_FAULT_PREPARE_DELAY_MS: an injected delay added to every prepare (fault tests).
 * - AGENT_FAULT_COMMIT_DELAY_MS: an injected wait for the step boundary before every swap (fault tests).
 * - AGENT_KEY_FILE, AGENT_SERVICE_PUBLIC_KEY(_FILE): the keys messages are signed and verified
 *   with (agent-keys.ts).
 * - AGENT_CONTROL_ENDPOINTS, AGENT_TOKEN, AGENT_HEARTBEAT_MS: the direct control channel;
 *   AGENT_CONTROL_TLS (true: dial TLS), AGENT_CONTROL_TLS_CA (PEM file the service's certificate
 *   must chain to; the system's CAs without), AGENT_CONTROL_TLS_SERVERNAME (name to verify).
 */
export const agentSettingsSchema = z.object({
  /** Unset: the agent starts idle (health endpoints only), as `npm start` runs it on a dev box. */
  AGENT_DEPLOYMENT: deploymentIdSchema.optional(),
  AGENT_NODE: z.coerce.number().int().nonnegative().default(0),
  AGENT_MAP_FILE: z.string().min(1).optional(),
  AGENT_BACKEND: z.enum(['simulated', 'torch']).default('simulated'),
  AGENT_BRIDGE_SOCKETS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const out: Record<number, string> = {};
      for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        const m = /^(\d+)=(\S+)$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `bridge socket "${part}" is not rank=path` });
          return z.NEVER;
        }
        out[Number(m[1])] = m[2];
      }
      return out;
    }),
  AGENT_BRIDGE_PREPARE_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  AGENT_BRIDGE_COMMIT_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  AGENT_LISTEN_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  AGENT_PEERS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const out: Record<number, { host: string; port: number }> = {};
      for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        const m = /^(\d+)=([^:\s]+):(\d+)$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `peer "${part}" is not node=host:port` });
          return z.NEVER;
        }
        out[Number(m[1])] = { host: m[2], port: Number(m[3]) };
      }
      return out;
    }),
  AGENT_EXPERT_BYTES: z.coerce.number().int().positive().default(4096),
  AGENT_BYTES_PER_SECOND: z.coerce.number().positive().optional(),
  /**
   * Directory of the agent's state file: the simulated device memory (weights held, staged
   * buffers, versions) and the command ledgers, written atomically after every command that
   * changed them and before its ack. Always kept (an agent without a ledger runs a replayed
   * command again): the agent refuses to start where it cannot write it.
   */
  AGENT_STATE_DIR: z.string().min(1).default('/var/lib/eplb-agent'),
  /**
   * true: keep no state across restarts (a restart starts from AGENT_MAP_FILE) — for tests and
   * simulations that measure without disk writes; refused in production.
   */
  AGENT_STATE_EPHEMERAL: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Injected fault: every prepare of the simulated backend takes this much longer. */
  AGENT_FAULT_PREPARE_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
  /** Injected fault: every commit of the simulated backend waits this long for its step boundary. */
  AGENT_FAULT_COMMIT_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
  /**
   * Rollout-service instances to keep a direct control connection to (`host:port,...`; their
   * ROLLOUT_CONTROL_PORT). Empty: commands and acks go over Kafka only.
   */
  AGENT_CONTROL_ENDPOINTS: z
    .string()
    .default('127.0.0.1:3473')
    .transform((s, ctx) => {
      try {
        return parseControlEndpoints(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    }),
  /** The token the agent presents on its control connections (role agent); the dev operator token outside production. */
  AGENT_TOKEN: z
    .string()
    .optional()
    .transform((s) => (s ? s : undefined)),
  AGENT_HEARTBEAT_MS: z.coerce.number().int().min(100).default(5_000),
  /** Dial the control channel over TLS (the hello carries the token): needed off a trusted host. */
  AGENT_CONTROL_TLS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  AGENT_CONTROL_TLS_CA: z.string().min(1).optional(),
  AGENT_CONTROL_TLS_SERVERNAME: z.string().min(1).optional(),
  /**
   * The agent's Ed25519 private key (PEM, PKCS#8), which signs all it sends; its public half is
   * enrolled with AGENT_TOKEN in the control channel's hello. Unset: `agent-<deployment>-node<N>.key`
   * in AGENT_STATE_DIR, generated on first start (required in production).
   */
  AGENT_KEY_FILE: z.string().min(1).optional(),
  /**
   * The rollout service's public key (PEM, or base64 DER), pinned: only commands it signed run.
   * Given inline or as a file; outside production the public half of DEV_ROLLOUT_SIGNING_KEY_FILE.
   */
  AGENT_SERVICE_PUBLIC_KEY: z.string().min(1).optional(),
  AGENT_SERVICE_PUBLIC_KEY_FILE: z.string().min(1).optional(),
});
export type AgentSettings = z.infer<typeof agentSettingsSchema>;
export const AGENT_SETTINGS = Symbol('AGENT_SETTINGS');
export const loadAgentSettings = (env: NodeJS.ProcessEnv = process.env): AgentSettings => agentSettingsSchema.parse(env);
