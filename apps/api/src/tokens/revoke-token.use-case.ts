import { Injectable } from '@nestjs/common';
import type { TokenSummary } from '@eplb/contracts';
import { DomainError } from '@eplb/domain';
import { ApiTokenRepository, EventMeta } from '@eplb/persistence';
import { toTokenSummary } from './token-summary.mapper';

/** Revokes a token: refused from now on, and agent keys enrolled with it are no longer trusted. Revoking twice is not an error. */
@Injectable()
export class RevokeTokenUseCase {
  constructor(private readonly tokens: ApiTokenRepository) {}

  async execute(id: string, meta: EventMeta): Promise<TokenSummary> {
    const revoked = await this.tokens.revoke(id, meta);
    if (!revoked) throw new DomainError('not-found', `no token ${id}`);
    return toTokenSummary(revoked);
  }
}
