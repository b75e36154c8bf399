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

/** A token as listed: never the token itself (not stored), nor its hash. */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly scope: TokenScope | null;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
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

const toRecord = (row: ApiTokenEntity): TokenRecord => ({
  id: row.id,
  name: row.name,
  role: row.role as Role,
  scope: scopeOf(row).scope ?? null,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
  expiresAt: row.expiresAt,
  revokedAt: row.revokedAt,
});

export class ApiTokenRepository {
  constructor(private readonly ds: DataSource) {}

  /** The principal of a token neither revoked nor expired. */
  async findActive(token: string): Promise<TokenPrincipal | null> {
    const row = await this.ds.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hashToken(token), revokedAt: IsNull() });
    if (!row || (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now())) return null;
    return { tokenId: row.id, name: row.name, role: row.role as Role, ...scopeOf(row) };
  }

  /** Every token, newest first. */
  async list(): Promise<TokenRecord[]> {
    const rows = await this.ds.getRepository(ApiTokenEntity).find({ order: { createdAt: 'DESC', id: 'ASC' } });
    return rows.map(toRecord);
  }

  /**
   * Revokes a token (from now on refused, and agent keys enrolled with it untrusted) and records
   * who and why; a token revoked before keeps its first revocation. null: no such token.
   */
  async revoke(id: string, meta: EventMeta): Promise<TokenRecord | null> {
    return this.ds.transaction(async (em) => {
      const repo = em.getRepository(ApiTokenEntity);
      const row = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) return null;
      if (row.revokedAt === null) {
        row.revokedAt = new Date();
        await repo.save(row);
        await appendEvents(em, [{ stream: `token:${row.id}`, type: 'token.revoked', payload: { name: row.name, role: row.role }, ...meta }]);
      }
      return toRecord(row);
    });
  }

  /** Revokes the token whose plaintext is `token` (the published development token in production); false: none active. */
  async revokeByToken(token: string, meta: EventMeta): Promise<boolean> {
    const row = await this.ds.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hashToken(token), revokedAt: IsNull() });
    if (!row) return false;
    await this.revoke(row.id, meta);
    return true;
  }

  /** Issues a new random token; the plaintext is returned once and never stored. */
  async issue(name: string, role: Role, meta: EventMeta, scope?: TokenScope, expiresAt?: Date): Promise<{ token: string; principal: TokenPrincipal }> {
    const token = `eplb_${randomBytes(32).toString('base64url')}`;
    return this.ds.transaction(async (em) => {
      const row = await em
        .getRepository(ApiTokenEntity)
        .save({ name, role, tokenHash: hashToken(token), createdBy: meta.actor, scopeDeployment: scope?.deployment ?? null, scopeNode: scope?.node ?? null, expiresAt: expiresAt ?? null });
      await appendEvents(em, [{ stream: `token:${row.id}`, type: 'token.issued', payload: { name, role, ...(scope ? { scope } : {}), ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) }, ...meta }]);
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
