import type { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import { TOKEN_ROLES, TokenRole } from '@eplb/contracts';
import { ApiContext, runApiGroup } from '../api-context';
import { CommandGroup, noMoreArguments, positional } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { OUTPUT_OPTIONS } from '../output';

export const TOKENS: CommandGroup<ApiContext> = {
  name: 'tokens',
  summary: 'API tokens, issued by an operator through the API; the token is shown once.',
  common: OUTPUT_OPTIONS,
  verbs: {
    issue: {
      args: 'NAME --role operator|analyst|agent [--deployment ID [--node N]]',
      summary: 'issue a token for a role; agent tokens may be scoped to one deployment, and one node of it',
      options: {
        role: { type: 'string', value: 'ROLE', help: TOKEN_ROLES.join(', ') },
        deployment: { type: 'string', value: 'ID', help: 'agent tokens: the deployment the token may act for' },
        node: { type: 'string', value: 'N', help: 'agent tokens: the node of that deployment' },
      },
      examples: ['eplb tokens issue dsv3-a-node-1 --role agent --deployment dsv3-a --node 1'],
      async run(line, { api, out }) {
        const name = positional(line, 0, 'NAME');
        noMoreArguments(line, 1);
        const role = line.string('role');
        if (!role) throw new UsageError('--role is required');
        if (!(TOKEN_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${TOKEN_ROLES.join(', ')}, got "${role}"`);
        const deployment = line.string('deployment');
        const nodeText = line.string('node');
        if (nodeText !== undefined && !deployment) throw new UsageError('--node needs --deployment');
        if (nodeText !== undefined && !/^\d+$/.test(nodeText)) throw new UsageError(`--node must be a non-negative integer, got "${nodeText}"`);
        const scope = deployment ? { deployment, ...(nodeText !== undefined ? { node: Number(nodeText) } : {}) } : undefined;
        const issued = await api.issueToken({ name, role: role as TokenRole, ...(scope ? { scope } : {}) });
        out.show(issued, (t) => {
          const where = t.scope ? ` for ${t.scope.deployment}${t.scope.node !== undefined ? ` node ${t.scope.node}` : ''}` : '';
          return [t.token, `(${t.role} token "${t.name}"${where}, id ${t.id}; shown once)`];
        });
      },
    },
  },
};

/** `eplb tokens issue`: API tokens through the API (operator). */
export const tokensCommand = (argv: string[], api: ApiClient = defaultApiClient()): Promise<number> => runApiGroup(TOKENS, argv, api);
