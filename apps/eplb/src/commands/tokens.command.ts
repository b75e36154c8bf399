import type { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import { TOKEN_ROLES, TokenRole, TokenSummary } from '@eplb/contracts';
import { ApiContext, runApiGroup } from '../api-context';
import { CommandGroup, noMoreArguments, positional } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { OUTPUT_OPTIONS, table, when } from '../output';

const scopeCell = (t: TokenSummary): string => (t.scope ? `${t.scope.deployment}${t.scope.node !== undefined ? `/${t.scope.node}` : ''}` : '-');

export const TOKENS: CommandGroup<ApiContext> = {
  name: 'tokens',
  summary: 'API tokens, issued, listed and revoked by an operator through the API; a token is shown once, when issued.',
  common: OUTPUT_OPTIONS,
  verbs: {
    list: {
      args: '',
      summary: 'every token, newest first: id, name, role, scope (deployment/node), status (active, expired, revoked), expiry, who issued it',
      examples: ['eplb tokens list', 'eplb tokens list -o json'],
      async run(line, { api, out }) {
        noMoreArguments(line, 0);
        const list = await api.listTokens();
        out.show(list, (l) =>
          table(
            ['ID', 'NAME', 'ROLE', 'SCOPE', 'STATUS', 'EXPIRES', 'CREATED', 'BY'],
            l.tokens.map((t) => [t.id, t.name, t.role, scopeCell(t), t.status, when(t.expiresAt), when(t.createdAt), t.createdBy]),
          ),
        );
      },
    },
    revoke: {
      args: 'ID [--reason TEXT]',
      summary: 'revoke a token: refused from now on, and an agent key enrolled with it is no longer trusted (exit 3: no such token)',
      options: { reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the revocation)' } },
      examples: ['eplb tokens revoke 0b7e2c9e-3f7e-4c53-9a43-5d8f0c1e2a11 --reason "node 3 decommissioned"'],
      async run(line, { api, out }) {
        const tokenId = positional(line, 0, 'ID');
        noMoreArguments(line, 1);
        const revoked = await api.revokeToken(tokenId, line.string('reason'));
        out.show(revoked, (t) => [`token ${t.id} ("${t.name}", ${t.role}${t.scope ? ` for ${scopeCell(t)}` : ''}) revoked at ${when(t.revokedAt)}`]);
      },
    },
    issue: {
      args: 'NAME --role operator|analyst|agent [--deployment ID --node N] [--expires ISO]',
      summary: 'issue a token for a role, optionally expiring; agent tokens are scoped to one deployment and one node of it',
      options: {
        role: { type: 'string', value: 'ROLE', help: TOKEN_ROLES.join(', ') },
        deployment: { type: 'string', value: 'ID', help: 'agent tokens: the deployment the token may act for' },
        node: { type: 'string', value: 'N', help: 'agent tokens: the node of that deployment' },
        expires: { type: 'string', value: 'ISO', help: 'refused after this time (ISO-8601, e.g. 2027-01-01T00:00:00Z); default: never' },
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
        if (role === 'agent' && nodeText === undefined) throw new UsageError('agent tokens need --deployment ID --node N');
        const expiresAt = line.string('expires');
        const issued = await api.issueToken({ name, role: role as TokenRole, ...(scope ? { scope } : {}), ...(expiresAt ? { expiresAt } : {}) });
        out.show(issued, (t) => {
          const where = t.scope ? ` for ${t.scope.deployment}${t.scope.node !== undefined ? ` node ${t.scope.node}` : ''}` : '';
          return [t.token, `(${t.role} token "${t.name}"${where}, id ${t.id}${t.expiresAt ? `, expires ${t.expiresAt}` : ''}; shown once)`];
        });
      },
    },
  },
};

/** `eplb tokens issue|list|revoke`: API tokens through the API (operator). */
export const tokensCommand = (argv: string[], api: ApiClient = defaultApiClient()): Promise<number> => runApiGroup(TOKENS, argv, api);
