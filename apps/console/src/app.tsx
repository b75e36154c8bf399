import type { ApiClient } from '@eplb/api-client';
import { useMemo, useState } from 'preact/hooks';
import { Session, clientFor, signOut, storedSession } from './session/session';
import { SignInPage } from './session/sign-in-page';
import { DeploymentNav } from './shell/deployment-nav';
import { lazyPage } from './shell/lazy-page';
import { Link } from './shell/link';
import { Route, useRoute } from './shell/route';

// a bundle per page: a tab fetches and parses the code of the pages it opens, when it opens them
const FleetPage = lazyPage(() => import('./fleet/fleet-page').then((m) => m.FleetPage));
const HeatPage = lazyPage(() => import('./heat/heat-page').then((m) => m.HeatPage));
const ProposalsPage = lazyPage(() => import('./proposals/proposals-page').then((m) => m.ProposalsPage));
const MapsPage = lazyPage(() => import('./maps/maps-page').then((m) => m.MapsPage));
const RolloutsPage = lazyPage(() => import('./rollouts/rollouts-page').then((m) => m.RolloutsPage));
const AgentsPage = lazyPage(() => import('./agents/agents-page').then((m) => m.AgentsPage));
const AuditPage = lazyPage(() => import('./audit/audit-page').then((m) => m.AuditPage));

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
