import type { ApiClient } from '@eplb/api-client';
import { useMemo, useState } from 'preact/hooks';
import { AgentsPage } from './agents/agents-page';
import { AuditPage } from './audit/audit-page';
import { FleetPage } from './fleet/fleet-page';
import { HeatPage } from './heat/heat-page';
import { MapsPage } from './maps/maps-page';
import { ProposalsPage } from './proposals/proposals-page';
import { RolloutsPage } from './rollouts/rollouts-page';
import { Session, clientFor, signOut, storedSession } from './session/session';
import { SignInPage } from './session/sign-in-page';
import { DeploymentNav } from './shell/deployment-nav';
import { Link } from './shell/link';
import { Route, useRoute } from './shell/route';

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
      <main>
        {route.page !== 'fleet' ? <DeploymentNav deployment={route.deployment} page={route.page} /> : null}
        {/* keyed by deployment: a page's state belongs to the deployment it shows */}
        <Page key={route.page === 'fleet' ? 'fleet' : `${route.page}:${route.deployment}`} api={api} route={route} canAct={session.role === 'operator'} />
      </main>
    </>
  );
}

/** Analysts get the same pages without the controls that change the plane (the API refuses them anyway). */
function Page({ api, route, canAct }: { api: ApiClient; route: Route; canAct: boolean }) {
  switch (route.page) {
    case 'fleet':
      return <FleetPage api={api} />;
    case 'heat':
      return <HeatPage api={api} deployment={route.deployment} />;
    case 'proposals':
      return <ProposalsPage api={api} deployment={route.deployment} runId={route.item} canAct={canAct} />;
    case 'maps':
      return <MapsPage api={api} deployment={route.deployment} version={route.item} />;
    case 'rollouts':
      return <RolloutsPage api={api} deployment={route.deployment} rolloutId={route.item} canAct={canAct} />;
    case 'agents':
      return <AgentsPage api={api} deployment={route.deployment} />;
    case 'audit':
      return <AuditPage api={api} deployment={route.deployment} />;
  }
}
