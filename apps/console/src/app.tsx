import { useMemo, useState } from 'preact/hooks';
import { FleetPage } from './fleet/fleet-page';
import { HeatPage } from './heat/heat-page';
import { Session, clientFor, signOut, storedSession } from './session/session';
import { SignInPage } from './session/sign-in-page';
import { Link } from './shell/link';
import { useRoute } from './shell/route';

/** Signed in: the page the path names, under a header saying who is signed in. Otherwise: sign in. */
export function App() {
  const [session, setSession] = useState<Session | null>(storedSession);
  const route = useRoute();
  const api = useMemo(() => (session ? clientFor(session.token) : null), [session]);
  if (!session || !api) return <SignInPage onSignedIn={setSession} />;
  return (
    <>
      <header class="bar">
        <Link to={{ page: 'fleet' }}>EPLB console</Link>
        <span class="who" data-testid="who" data-role={session.role}>
          {session.name} ({session.role})
        </span>
        <button
          type="button"
          class="link"
          data-testid="sign-out"
          onClick={() => {
            signOut();
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>{route.page === 'heat' ? <HeatPage api={api} deployment={route.deployment} /> : <FleetPage api={api} />}</main>
    </>
  );
}
