import { readFileSync } from 'node:fs';
import { ApiClient } from '../api-client';
import { parseArgs, requiredOption, stringOption, UsageError } from '../args';

const USAGE = `usage: eplb deployments list
       eplb deployments show ID
       eplb deployments create --file DEPLOYMENT.json      (the body of POST /v1/deployments)
       eplb deployments settings ID [--policy P] [--cadence S] [--threshold X] [--min-gain X] [--max-transfers N|none] [--phase P] [--mode observe|approve|auto] [--expert-bytes N]
       eplb deployments runs ID [--status proposed|nothing|failed] [--limit N]
       eplb deployments approve|reject ID RUN --reason TEXT`;

const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
};

/** `eplb deployments …`: the deployment registry, policy settings and proposals, through the API. */
export async function deploymentsCommand(argv: string[], api = new ApiClient()): Promise<number> {
  const [verb, ...rest] = argv;
  const args = parseArgs(rest, {
    values: ['file', 'policy', 'cadence', 'threshold', 'min-gain', 'max-transfers', 'phase', 'mode', 'expert-bytes', 'status', 'limit', 'reason'],
    flags: [],
  });
  const [id, run] = args.positional;
  const need = (v: string | undefined, what: string) => {
    if (!v) throw new UsageError(`missing ${what}\n${USAGE}`);
    return encodeURIComponent(v);
  };
  switch (verb) {
    case 'list':
      print(await api.call('GET', '/v1/deployments'));
      return 0;
    case 'show':
      print(await api.call('GET', `/v1/deployments/${need(id, 'ID')}`));
      return 0;
    case 'create':
      print(await api.call('POST', '/v1/deployments', JSON.parse(readFileSync(requiredOption(args, 'file'), 'utf8'))));
      return 0;
    case 'settings': {
      const maxTransfers = stringOption(args, 'max-transfers');
      const patch = {
        policy: stringOption(args, 'policy'),
        cadenceSeconds: num('cadence', stringOption(args, 'cadence')),
        threshold: num('threshold', stringOption(args, 'threshold')),
        minGain: num('min-gain', stringOption(args, 'min-gain')),
        maxTransfers: maxTransfers === 'none' ? null : num('max-transfers', maxTransfers),
        phase: stringOption(args, 'phase'),
        mode: stringOption(args, 'mode'),
        expertBytes: num('expert-bytes', stringOption(args, 'expert-bytes')),
      };
      const body = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      print(await api.call(Object.keys(body).length ? 'PATCH' : 'GET', `/v1/deployments/${need(id, 'ID')}/settings`, Object.keys(body).length ? body : undefined));
      return 0;
    }
    case 'runs': {
      const q = new URLSearchParams(Object.entries({ status: stringOption(args, 'status'), limit: stringOption(args, 'limit') }).filter((e): e is [string, string] => e[1] !== undefined));
      print(await api.call('GET', `/v1/deployments/${need(id, 'ID')}/runs${q.size ? `?${q}` : ''}`));
      return 0;
    }
    case 'approve':
    case 'reject':
      print(await api.call('POST', `/v1/deployments/${need(id, 'ID')}/runs/${need(run, 'RUN')}/${verb}`, { reason: requiredOption(args, 'reason') }));
      return 0;
    default:
      throw new UsageError(USAGE);
  }
}
