import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The agents' public keys: each agent signs what it sends with a private key only it holds and
 * enrols the public half for its node with its token on the control channel. The rollout service
 * verifies agents' messages with these keys, trusting one only while the token it was enrolled
 * with is not revoked. Public keys only: a copy of this table lets nobody sign.
 */
export class AgentKeys1763908200000 implements MigrationInterface {
  name = 'AgentKeys1763908200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_keys (
        deployment_id text NOT NULL,
        node int NOT NULL CHECK (node >= 0),
        public_key text NOT NULL,
        token_id uuid NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
        enrolled_by text NOT NULL,
        enrolled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (deployment_id, node)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agent_keys`);
  }
}
