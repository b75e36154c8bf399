import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agent tokens may be scoped to one deployment, and to one node of it: the rollout service then
 * refuses a control connection that claims anything else, so a leaked token of one node cannot
 * act for another.
 */
export class AgentTokenScope1763899200000 implements MigrationInterface {
  name = 'AgentTokenScope1763899200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_tokens
        ADD COLUMN scope_deployment text NULL,
        ADD COLUMN scope_node int NULL CHECK (scope_node IS NULL OR scope_node >= 0),
        ADD CONSTRAINT api_tokens_scope_node_needs_deployment CHECK (scope_node IS NULL OR scope_deployment IS NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope_node_needs_deployment, DROP COLUMN scope_node, DROP COLUMN scope_deployment`);
  }
}
