export const TOKEN_ROLES = ['operator', 'analyst', 'agent'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** What an agent token may act for: one deployment, optionally one node of it. */
export interface TokenScopeBody {
  deployment: string;
  node?: number;
}

/** `POST /v1/tokens`. Agent tokens must name the deployment and node they act for. */
export interface IssueTokenRequest {
  name: string;
  role: TokenRole;
  scope?: TokenScopeBody;
  /** ISO-8601 time after which the token is refused (absent: it does not expire). */
  expiresAt?: string;
}

/** The answer to `POST /v1/tokens`: the token itself is shown this once; only its hash is kept. */
export interface IssuedToken {
  id: string;
  name: string;
  role: TokenRole;
  scope: TokenScopeBody | null;
  expiresAt: string | null;
  token: string;
}

/** One token as `GET /v1/tokens` lists it: never the token itself (only its hash is kept). */
export interface TokenSummary {
  id: string;
  name: string;
  role: TokenRole;
  scope: TokenScopeBody | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** active, expired or revoked, now. */
  status: 'active' | 'expired' | 'revoked';
}

/** `GET /v1/tokens`: every token, newest first. */
export interface TokenList {
  tokens: TokenSummary[];
}

/** `GET /v1/me`: the token the request carries, as the API knows it (never the token itself). */
export interface WhoAmIResponse {
  name: string;
  role: TokenRole;
  scope: TokenScopeBody | null;
}
