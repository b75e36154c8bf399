import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API tokens may expire: after `expires_at` the token is refused (and an agent key enrolled with
 * it is no longer trusted), as after a revocation.
 */
export class TokenExpiry1763911800000 implements MigrationInterface {
  name = 'TokenExpiry1763911800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens DROP COLUMN expires_at`);
  }
}
