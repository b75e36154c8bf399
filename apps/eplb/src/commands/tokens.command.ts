import { ApiClient } from '../api-client';
import { UsageError, parseArgs, stringOption } from '../args';
import { printJson, printLines } from '../output';

const USAGE = `usage: eplb tokens issue NAME --role operator|analyst|agent [--deployment ID [--node N]] [--json]
         (agent tokens may be scoped to one deployment, and one node of it; the token is shown once)`;

interface Issued {
  id: string;
  name: string;
  role: string;
  scope: { deployment: string; node?: number } | null;
  token: string;
}

/** `eplb tokens issue`: API tokens through the API (operator). */
export async function tokensCommand(argv: string[], api = new ApiClient()): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'issue') throw new UsageError(USAGE);
  const args = parseArgs(rest, { values: ['role', 'deployment', 'node'], flags: ['json'] });
  const [name, extra] = args.positional;
  if (!name) throw new UsageError(`missing NAME\n${USAGE}`);
  if (extra) throw new UsageError(`unexpected argument "${extra}"\n${USAGE}`);
  const role = stringOption(args, 'role');
  if (!role) throw new UsageError(`--role is required\n${USAGE}`);
  const deployment = stringOption(args, 'deployment');
  const nodeText = stringOption(args, 'node');
  if (nodeText !== undefined && !deployment) throw new UsageError('--node needs --deployment');
  if (nodeText !== undefined && !/^\d+$/.test(nodeText)) throw new UsageError(`--node must be a non-negative integer, got "${nodeText}"`);
  const scope = deployment ? { deployment, ...(nodeText !== undefined ? { node: Number(nodeText) } : {}) } : undefined;
  const issued = await api.call<Issued>('POST', '/v1/tokens', { name, role, ...(scope ? { scope } : {}) });
  if (args.options.has('json')) printJson(issued);
  else {
    const where = issued.scope ? ` for ${issued.scope.deployment}${issued.scope.node !== undefined ? ` node ${issued.scope.node}` : ''}` : '';
    printLines([issued.token, `(${issued.role} token "${issued.name}"${where}, id ${issued.id}; shown once)`]);
  }
  return 0;
}
