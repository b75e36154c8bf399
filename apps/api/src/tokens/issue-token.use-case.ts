import { Injectable } from '@nestjs/common';
import { ApiTokenRepository, EventMeta, Role, TokenScope } from '@eplb/persistence';

export interface IssuedToken {
  id: string;
  name: string;
  role: Role;
  scope: TokenScope | null;
  /** Shown once; only its hash is kept. */
  token: string;
}

@Injectable()
export class IssueTokenUseCase {
  constructor(private readonly tokens: ApiTokenRepository) {}

  async execute(input: { name: string; role: Role; scope?: TokenScope }, meta: EventMeta): Promise<IssuedToken> {
    const { token, principal } = await this.tokens.issue(input.name, input.role, meta, input.scope);
    return { id: principal.tokenId, name: principal.name, role: principal.role, scope: principal.scope ?? null, token };
  }
}
