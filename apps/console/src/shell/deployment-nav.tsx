import { Link } from './link';
import { DEPLOYMENT_PAGES, DeploymentPage } from './route';

const LABELS: Record<DeploymentPage, string> = { heat: 'Heat', proposals: 'Proposals', maps: 'Maps', rollouts: 'Rollouts', agents: 'Agents', audit: 'Audit' };

/** The deployment's pages as tabs, under a way back to the fleet. */
export function DeploymentNav({ deployment, page }: { deployment: string; page: DeploymentPage }) {
  return (
    <nav class="tabs">
      <Link to={{ page: 'fleet' }}>← Fleet</Link>
      <strong>{deployment}</strong>
      {DEPLOYMENT_PAGES.map((p) => (
        <span key={p} class={p === page ? 'tab current' : 'tab'}>
          <Link to={{ page: p, deployment }} testId={`tab-${p}`}>
            {LABELS[p]}
          </Link>
        </span>
      ))}
    </nav>
  );
}
