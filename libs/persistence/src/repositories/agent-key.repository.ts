import { DataSource } from 'typeorm';
import { appendEvents, EventMeta } from './event-store';

/** Who enrols an agent's key: the token it presented (its id and name). */
export interface KeyEnrolment {
  readonly deployment: string;
  readonly node: number;
  /** The public key as publicKeyText writes it (base64 DER). */
  readonly publicKey: string;
  /** The token the agent enrolled with (the key is trusted while it is not revoked); null: an operator registered it. */
  readonly tokenId: string | null;
}

/**
 * The agents' public keys (table `agent_keys`, one per deployment node): what the rollout service
 * verifies agents' signed messages with. A key enrolled with a token is trusted only while that
 * token is not revoked.
 */
export class AgentKeyRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records the node's key (replacing an earlier one: an agent re-provisioned with a new key);
   * an event says so when the key is new or changed. Returns whether it changed.
   */
  async enrol(e: KeyEnrolment, meta: EventMeta): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      const rows: { changed: boolean }[] = await em.query(
        `INSERT INTO agent_keys (deployment_id, node, public_key, token_id, enrolled_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (deployment_id, node) DO UPDATE SET public_key = EXCLUDED.public_key, token_id = EXCLUDED.token_id, enrolled_by = EXCLUDED.enrolled_by, enrolled_at = now()
           WHERE agent_keys.public_key IS DISTINCT FROM EXCLUDED.public_key OR agent_keys.token_id IS DISTINCT FROM EXCLUDED.token_id
         RETURNING true AS changed`,
        [e.deployment, e.node, e.publicKey, e.tokenId, meta.actor],
      );
      if (rows.length === 0) return false;
      await appendEvents(em, [{ stream: `agents:${e.deployment}`, type: 'agent.key-enrolled', payload: { node: e.node, publicKey: e.publicKey }, ...meta }]);
      return true;
    });
  }

  /** The node's public key, or null when none is enrolled or its token was revoked or expired. */
  async find(deployment: string, node: number): Promise<string | null> {
    const rows: { public_key: string }[] = await this.ds.query(
      `SELECT k.public_key FROM agent_keys k LEFT JOIN api_tokens t ON t.id = k.token_id
        WHERE k.deployment_id = $1 AND k.node = $2 AND (k.token_id IS NULL OR (t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())))`,
      [deployment, node],
    );
    return rows[0]?.public_key ?? null;
  }
}
