import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokenEntity } from '../entities/api-token.entity';
import { appendEvents, EventMeta } from './event-store';

export const ROLES = ['operator', 'analyst', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenPrincipal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class ApiTokenRepository {
  constructor(private readonly ds: DataSource) {}

  async findActive(token: string): Promise<TokenPrincipal | null> {
    const row = await this.ds.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hashToken(token), revokedAt: IsNull() });
    return row ? { tokenId: row.id, name: row.name, role: row.role as Role } : null;
  }

  /** Issues a new random token; the plaintext is returned once and never stored. */
  async issue(name: string, role: Role, meta: EventMeta): Promise<{ token: string; principal: TokenPrincipal }> {
    const token = `eplb_${randomBytes(32).toString('base64url')}`;
    return this.ds.transaction(async (em) => {
      const row = await em.getRepository(ApiTokenEntity).save({ name, role, tokenHash: hashToken(token), createdBy: meta.actor });
      await appendEvents(em, [{ stream: `token:${row.id}`, type: 'token.issued', payload: { name, role }, ...meta }]);
      return { token, principal: { tokenId: row.id, name, role } };
    });
  }

  /** Makes sure the bootstrap operator token from the environment is accepted (idempotent). */
  async ensureBootstrap(token: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(ApiTokenEntity)
        .values({ name: 'bootstrap-operator', role: 'operator', tokenHash: hashToken(token), createdBy: 'system' })
        .orIgnore()
        .returning(['id'])
        .execute();
      const rows = inserted.raw as { id: string }[];
      if (rows.length > 0) {
        await appendEvents(em, [
          {
            stream: `token:${rows[0].id}`,
            type: 'token.issued',
            payload: { name: 'bootstrap-operator', role: 'operator' },
            actor: 'system',
            reason: 'bootstrap operator token from EPLB_BOOTSTRAP_TOKEN',
            correlationId: 'bootstrap',
          },
        ]);
      }
    });
  }
}
