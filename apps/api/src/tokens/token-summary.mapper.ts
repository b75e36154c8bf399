import type { TokenSummary } from '@eplb/contracts';
import type { TokenRecord } from '@eplb/persistence';

/** A stored token as the API shows it (no hash), with its status at `now`. */
export function toTokenSummary(t: TokenRecord, now = Date.now()): TokenSummary {
  const status = t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt.getTime() <= now ? 'expired' : 'active';
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    scope: t.scope,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    status,
  };
}
