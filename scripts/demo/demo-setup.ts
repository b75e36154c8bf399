import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO, demoStartStep, DemoRun } from './demo-cluster';
import { call, detailOf } from './demo-http';

type Log = (s: string) => void;

interface SavedTokens {
  readonly agents: string[];
  readonly simulator: string;
}

const REASON = { 'x-eplb-reason': 'npm start: the demo cluster' };

/**
 * Makes the demo deployment ready through the API, as an operator would: registers it (or reuses
 * the one a previous start registered: its settings, maps and rollouts stay), switches a new one
 * to `auto` with a short cadence (settings PATCH), issues one agent token per node and an analyst
 * token for the simulator (kept in `stateDir` for the next start; reissued when they no longer
 * authenticate), and writes the map file the agents start from.
 */
export async function setUpDemo(api: string, operatorToken: string, stateDir: string, log: Log): Promise<DemoRun> {
  mkdirSync(stateDir, { recursive: true });
  const url = `${api}/v1/deployments/${DEMO.id}`;
  let existing = await call(GET, url, operatorToken);
  let created = false;
  if (existing.status === 404) {
    const r = await call('POST', `${api}/v1/deployments`, operatorToken, { id: DEMO.id, shape: DEMO.shape, windows: DEMO.windows }, REASON);
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating deployment ${DEMO.id}: ${r.status} ${detailOf(r)}`);
    created = r.status === 201;
    if (created) {
      const s = await call('PATCH', `${url}/settings`, operatorToken, DEMO.settings, { 'x-eplb-reason': 'npm start: the demo balances itself (auto mode, short cadence)' });
      if (s.status !== 200) throw new Error(`demo settings: ${s.status} ${detailOf(s)}`);
    }
    existing = await call(GET, url, operatorToken);
  }
  if (existing.status !== 200) throw new Error(`deployment ${DEMO.id}: ${existing.status} ${detailOf(existing)}`);
  const d = existing.body as { shape: Record<string, unknown>; mapVersion: number; settings: { mode: string; cadenceSeconds: number } };
  const same = (Object.keys(DEMO.shape) as (keyof typeof DEMO.shape)[]).every((k) => d.shape[k] === DEMO.shape[k]);
  if (!same) throw new Error(`deployment ${DEMO.id} exists with another shape (${JSON.stringify(d.shape)}): run \`npm start -- --no-demo\` (or EPLB_DEMO=0)`);
  log(
    created
      ? `demo: deployment ${DEMO.id} registered (${DEMO.shape.layers} layers × ${DEMO.shape.experts} experts, ${DEMO.shape.nodes} nodes × ${DEMO.shape.ranks / DEMO.shape.nodes} ranks × ${DEMO.shape.slotsPerRank} slots), mode ${d.settings.mode}, cadence ${d.settings.cadenceSeconds}s`
      : `demo: reusing deployment ${DEMO.id} (mode ${d.settings.mode}, latest map version ${d.mapVersion})`,
  );
  // a new deployment (the database was reset): the agents' saved device state belongs to the old one
  if (created) for (let n = 0; n < DEMO.shape.nodes; n++) rmSync(join(stateDir, `agent-${n}`), { recursive: true, force: true });

  const tokens = await demoTokens(api, operatorToken, join(stateDir, 'tokens.json'), created, log);
  // the agents start from the map their layers are committed on (their saved state, when kept, wins)
  const committed = ((await call(GET, `${url}/rollouts`, operatorToken)).body?.committedVersions as number[] | undefined) ?? [1];
  const version = committed.every((v) => v === committed[0]) ? committed[0] : 1;
  if (version === 1 && committed.some((v) => v !== 1)) log(`demo: layers are on versions ${committed.join(',')}; agents without saved state start from version 1`);
  const map = await call(GET, `${url}/maps/${version}`, operatorToken);
  if (map.status !== 200) throw new Error(`map version ${version} of ${DEMO.id}: ${map.status} ${detailOf(map)}`);
  const mapFile = join(stateDir, 'agent-map.json');
  const { layers, experts, ranks, slotsPerRank, nodes } = DEMO.shape;
  writeFileSync(mapFile, JSON.stringify({ shape: { numLayers: layers, numExperts: experts, numRanks: ranks, slotsPerRank, numNodes: nodes }, version, physicalToLogical: map.body.physicalToLogical }));
  return { agentTokens: tokens.agents, simulatorToken: tokens.simulator, mapFile, startStep: demoStartStep(Date.now()) };
}

const GET = 'GET';

/** Tokens saved by an earlier start when they still authenticate, else new ones (shown once, so saved). */
async function demoTokens(api: string, operatorToken: string, file: string, fresh: boolean, log: Log): Promise<SavedTokens> {
  if (!fresh && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedTokens;
    const checks = await Promise.all([...saved.agents, saved.simulator].map((t) => call(GET, `${api}/v1/deployments/${DEMO.id}`, t)));
    if (saved.agents.length === DEMO.shape.nodes && checks.every((c) => c.status === 200)) return saved;
  }
  const issue = async (body: Record<string, unknown>): Promise<string> => {
    const r = await call('POST', `${api}/v1/tokens`, operatorToken, body, REASON);
    if (r.status !== 201) throw new Error(`issuing token ${String(body.name)}: ${r.status} ${detailOf(r)}`);
    return r.body.token as string;
  };
  const agents: string[] = [];
  for (let node = 0; node < DEMO.shape.nodes; node++) agents.push(await issue({ name: `${DEMO.id}-agent-node-${node}`, role: 'agent', scope: { deployment: DEMO.id, node } }));
  const simulator = await issue({ name: `${DEMO.id}-simulator`, role: 'analyst' });
  writeFileSync(file, JSON.stringify({ agents, simulator }), { mode: 0o600 });
  log(`demo: issued an agent token per node (${agents.length}) and an analyst token for the simulator`);
  return { agents, simulator };
}
