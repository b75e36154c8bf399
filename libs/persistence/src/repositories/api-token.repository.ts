import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokenEntity } from '../entities/api-token.entity';
import { appendEvents, EventMeta } from './event-store';

export const ROLES = ['operator', 'analyst', 'agent'] as const;
export type Role = (typeof ROLES)[number];

/** What a token may act for: one deployment, optionally one node of it (agent tokens). */
export interface TokenScope {
  readonly deployment: string;
  readonly node?: number;
}

export interface TokenPrincipal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
  readonly scope?: TokenScope;
}

const scopeOf = (row: { scopeDeployment: string | null; scopeNode: number | null }): { scope?: TokenScope } =>
  row.scopeDeployment === null ? {} : { scope: { deployment: row.scopeDeployment, ...(row.scopeNode !== null ? { node: row.scopeNode } : {}) } };

/** What the store keeps of a token: its SHA-256 (hex). It signs nothing: rollout messages are signed with keys the database does not hold. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class ApiTokenRepository {
  constructor(private readonly ds: DataSource) {}

  async findActive(token: string): Promise<TokenPrincipal | null> {
    const row = await this.ds.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hashToken(token), revokedAt: IsNull() });
    return row ? { tokenId: row.id, name: row.name, role: row.role as Role, ...scopeOf(row) } : null;
  }

  /** Issues a new random token; the plaintext is returned once and never stored. */
  async issue(name: string, role: Role, meta: EventMeta, scope?: TokenScope): Promise<{ token: string; principal: TokenPrincipal }> {
    const token = `eplb_${randomBytes(32).toString('base64url')}`;
    return this.ds.transaction(async (em) => {
      const row = await em
        .getRepository(ApiTokenEntity)
        .save({ name, role, tokenHash: hashToken(token), createdBy: meta.actor, scopeDeployment: scope?.deployment ?? null, scopeNode: scope?.node ?? null });
      await appendEvents(em, [{ stream: `token:${row.id}`, type: 'token.issued', payload: { name, role, ...(scope ? { scope } : {}) }, ...meta }]);
      return { token, principal: { tokenId: row.id, name, role, ...(scope ? { scope } : {}) } };
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
