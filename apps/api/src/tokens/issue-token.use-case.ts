import { Injectable } from '@nestjs/common';
import type { IssuedToken } from '@eplb/contracts';
import { ApiTokenRepository, EventMeta, Role, TokenScope } from '@eplb/persistence';

@Injectable()
export class IssueTokenUseCase {
  constructor(private readonly tokens: ApiTokenRepository) {}

  /** `expiresAt`: ISO-8601 (validated at the edge). */
  async execute(input: { name: string; role: Role; scope?: TokenScope; expiresAt?: string }, meta: EventMeta): Promise<IssuedToken> {
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : undefined;
    const { token, principal } = await this.tokens.issue(input.name, input.role, meta, input.scope, expiresAt);
    return { id: principal.tokenId, name: principal.name, role: principal.role, scope: principal.scope ?? null, expiresAt: expiresAt?.toISOString() ?? null, token };
  }
}
