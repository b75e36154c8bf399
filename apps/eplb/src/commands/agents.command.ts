import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import { publicKeyText } from '@eplb/contracts';
import { ApiContext, runApiGroup } from '../api-context';
import { CommandGroup, noMoreArguments, positional } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { OUTPUT_OPTIONS } from '../output';
import { readStdin } from '../stdin';

/**
 * The public key to register from what the operator holds: a public key (PEM or base64 DER), or
 * the agent's own key file (AGENT_KEY_FILE, a PKCS#8 PEM private key) whose public half alone is
 * sent — the private key never leaves this process.
 */
export function publicKeyFrom(text: string): string {
  const t = text.trim();
  if (t === '') throw new UsageError('no key given (--key FILE, or the key on stdin)');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(t)) {
    try {
      return publicKeyText(createPublicKey(t));
    } catch (e) {
      throw new UsageError(`cannot read the private key: ${(e as Error).message}`);
    }
  }
  return t;
}

export const AGENTS: CommandGroup<ApiContext> = {
  name: 'agents',
  summary: "agents' keys, registered by an operator through the API",
  common: OUTPUT_OPTIONS,
  verbs: {
    'enrol-key': {
      args: 'ID NODE [--key FILE]',
      summary:
        "register node NODE's agent public key (Ed25519): for agents on Kafka only (no AGENT_CONTROL_ENDPOINTS), whose acks the rollout service drops until their key is known; replaces the node's earlier key",
      options: { key: { type: 'string', value: 'FILE', help: "the agent's public key (PEM or base64 DER), or its AGENT_KEY_FILE (only the public half is sent); default: stdin" } },
      examples: ['eplb agents enrol-key dsv3-a 3 --key /var/lib/eplb-agent/agent-dsv3-a-node3.key', 'openssl pkey -in node3.key -pubout | eplb agents enrol-key dsv3-a 3'],
      async run(line, { api, out }) {
        const id = positional(line, 0, 'ID');
        const nodeText = positional(line, 1, 'NODE');
        noMoreArguments(line, 2, 'the key goes in --key FILE or on stdin');
        if (!/^\d+$/.test(nodeText)) throw new UsageError(`NODE must be a non-negative integer, got "${nodeText}"`);
        const file = line.string('key');
        const publicKey = publicKeyFrom(file ? await readFile(file, 'utf8') : await readStdin());
        const r = await api.enrolAgentKey(id, Number(nodeText), publicKey);
        out.show(r, (k) => [`${k.changed ? 'registered' : 'already registered'}: ${k.deployment} node ${k.node} key ${k.publicKey}`]);
      },
    },
  },
};

/** `eplb agents enrol-key`: agents' public keys through the API (operator). */
export const agentsCommand = (argv: string[], api: ApiClient = defaultApiClient()): Promise<number> => runApiGroup(AGENTS, argv, api);
