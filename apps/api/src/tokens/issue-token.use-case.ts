import { Injectable } from '@nestjs/common';
import type { IssuedToken } from '@eplb/contracts';
import { ApiTokenRepository, EventMeta, Role, TokenScope } from '@eplb/persistence';

@Injectable()
export class IssueTokenUseCase {
  constructor(private readonly tokens: ApiTokenRepository) {}

  async execute(input: { name: string; role: Role; scope?: TokenScope }, meta: EventMeta): Promise<IssuedToken> {
    const { token, principal } = await this.tokens.issue(input.name, input.role, meta, input.scope);
    return { id: principal.tokenId, name: principal.name, role: principal.role, scope: principal.scope ?? null, token };
  }
}
