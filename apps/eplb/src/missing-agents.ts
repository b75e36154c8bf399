import { ApiProblem, type ApiClient } from '@eplb/api-client';
import { table } from './output';

/** The nodes a 409 names as having no live agent (`nodes` of the problem), or null for any other failure. */
export function nodesWithoutAgent(err: unknown): number[] | null {
  if (!(err instanceof ApiProblem) || err.status !== 409) return null;
  const nodes = err.extensions.nodes;
  return Array.isArray(nodes) && nodes.every((n) => typeof n === 'number') ? (nodes as number[]) : null;
}

/**
 * Runs `request`; when the API refuses it because nodes have no live agent, first says which (on
 * stderr: each node's agent as `eplb rollout agents` shows it, and how to go on), then fails as
 * the API did (exit 4).
 */
export async function explainMissingAgents<T>(api: ApiClient, id: string, request: () => Promise<T>, stderr: (text: string) => void = (t) => process.stderr.write(t)): Promise<T> {
  try {
    return await request();
  } catch (err) {
    const nodes = nodesWithoutAgent(err);
    if (nodes === null) throw err;
    let rows: string[] = [];
    try {
      const agents = (await api.agents(id)).agents.filter((a) => nodes.includes(a.node));
      rows = table(
        ['NODE', 'AGENT', 'RANKS', 'LAST HEARD'],
        agents.map((a) => [a.node, a.status, a.ranks.length ? `${a.ranks[0]}-${a.ranks[a.ranks.length - 1]}` : '-', a.ageMs === null ? 'never' : `${(a.ageMs / 1000).toFixed(1)} s ago`]),
      );
    } catch {
      rows = []; // the node list alone still says it
    }
    stderr(
      [
        `nodes without a live agent: ${nodes.join(', ')}`,
        ...rows.map((r) => `  ${r}`),
        `start their agents (eplb rollout agents ${id}), or repeat with --force to queue the rollout anyway`,
      ].join('\n') + '\n',
    );
    throw err;
  }
}
