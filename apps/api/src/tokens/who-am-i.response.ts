import type { WhoAmIResponse } from '@eplb/contracts';
import type { TokenPrincipal } from '@eplb/persistence';

/** The principal a token authenticated as, without its id or hash. */
export function toWhoAmI(principal: TokenPrincipal): WhoAmIResponse {
  return { name: principal.name, role: principal.role, scope: principal.scope ?? null };
}
