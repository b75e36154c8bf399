import { Injectable } from '@nestjs/common';
import type { TokenList } from '@eplb/contracts';
import { ApiTokenRepository } from '@eplb/persistence';
import { toTokenSummary } from './token-summary.mapper';

@Injectable()
export class ListTokensUseCase {
  constructor(private readonly tokens: ApiTokenRepository) {}

  async execute(): Promise<TokenList> {
    const now = Date.now();
    return { tokens: (await this.tokens.list()).map((t) => toTokenSummary(t, now)) };
  }
}
