export const TOKEN_ROLES = ['operator', 'analyst', 'agent'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** What an agent token may act for: one deployment, optionally one node of it. */
export interface TokenScopeBody {
  deployment: string;
  node?: number;
}

/** `POST /v1/tokens`. */
export interface IssueTokenRequest {
  name: string;
  role: TokenRole;
  scope?: TokenScopeBody;
}

/** The answer to `POST /v1/tokens`: the token itself is shown this once; only its hash is kept. */
export interface IssuedToken {
  id: string;
  name: string;
  role: TokenRole;
  scope: TokenScopeBody | null;
  token: string;
}

/** `GET /v1/me`: the token the request carries, as the API knows it (never the token itself). */
export interface WhoAmIResponse {
  name: string;
  role: TokenRole;
  scope: TokenScopeBody | null;
}
