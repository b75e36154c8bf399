import { Injectable } from '@nestjs/common';
import { ApiTokenRepository, EventMeta, Role } from '@eplb/persistence';

export interface IssuedToken {
  id: string;
  name: string;
  role: Role;
  /** Shown once; only its hash is kept. */
  token: string;
}

@Injectable()
export class IssueTokenUseCase {
  constructor(private readonly tokens: ApiTokenRepository) {}

  async execute(input: { name: string; role: Role }, meta: EventMeta): Promise<IssuedToken> {
    const { token, principal } = await this.tokens.issue(input.name, input.role, meta);
    return { id: principal.tokenId, name: principal.name, role: principal.role, token };
  }
}
