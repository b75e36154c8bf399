import { ApiClient, ApiProblem } from '@eplb/api-client';
import type { TokenRole, WhoAmIResponse } from '@eplb/contracts';

/** Who is signed in to this tab: the token every data call carries, and whom the API says it is. */
export interface Session {
  readonly token: string;
  readonly name: string;
  readonly role: ConsoleRole;
}

/** People use the console; agent tokens belong to the agents on the inference nodes. */
const CONSOLE_ROLES = ['operator', 'analyst'] as const satisfies readonly TokenRole[];
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

const isConsoleRole = (role: TokenRole): role is ConsoleRole => (CONSOLE_ROLES as readonly TokenRole[]).includes(role);

// sessionStorage: the token is typed once and kept for this tab only, never written to disk for good.
const STORAGE_KEY = 'eplb.console.session';

/** The API client for the signed-in token, same origin as the page the API served. */
export const clientFor = (token: string): ApiClient => new ApiClient({ baseUrl: window.location.origin, token });

/**
 * Asks the API who the token is (`GET /v1/me`): a token it does not know is its 401 problem, an
 * agent token is refused here with a problem of the same shape, so the sign-in page shows either.
 */
export async function signIn(token: string): Promise<Session> {
  const me: WhoAmIResponse = await clientFor(token).me();
  if (!isConsoleRole(me.role)) {
    throw new ApiProblem({
      status: 403,
      title: 'Not a console token',
      detail: `${me.name} is an ${me.role} token, for the agents on the inference nodes; sign in with an operator or analyst token`,
    });
  }
  const session: Session = { token, name: me.name, role: me.role };
  window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export function storedSession(): Session | null {
  const raw = window.sessionStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.token === 'string' && typeof s.name === 'string' && (s.role === 'operator' || s.role === 'analyst') ? (s as Session) : null;
  } catch {
    return null; // something else wrote the key: sign in again
  }
}

export function signOut(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
}
