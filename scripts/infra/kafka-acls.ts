import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type AclEntry } from 'kafkajs';
import { KAFKA_ACCESS, KAFKA_PRINCIPALS } from '@eplb/contracts';
import type { KafkaSasl } from '@eplb/platform';

/**
 * The broker's ACLs, derived from the one access table (KAFKA_ACCESS in @eplb/contracts): each
 * principal may WRITE and READ its topics (either implies DESCRIBE) and READ its consumer groups
 * (join, fetch and commit offsets). Creating an ACL that exists is a no-op, so every launch
 * re-applies the table; a grant removed from the table is not revoked here (a fresh data
 * directory starts from the table alone).
 */
export function kafkaAcls(groupPrefix: string): AclEntry[] {
  const allow = { host: '*', permissionType: AclPermissionTypes.ALLOW };
  return KAFKA_PRINCIPALS.flatMap((p) => {
    const grants = KAFKA_ACCESS[p];
    const principal = `User:${p}`;
    const topic = (name: string, operation: AclOperationTypes): AclEntry => ({
      ...allow,
      principal,
      resourceType: AclResourceTypes.TOPIC,
      resourceName: name,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      operation,
    });
    return [
      ...grants.write.map((t) => topic(t, AclOperationTypes.WRITE)),
      ...grants.read.map((t) => topic(t, AclOperationTypes.READ)),
      ...grants.groups.map(
        (g): AclEntry => ({
          ...allow,
          principal,
          resourceType: AclResourceTypes.GROUP,
          resourceName: g.name(groupPrefix),
          resourcePatternType: g.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
          operation: AclOperationTypes.READ,
        }),
      ),
    ];
  });
}

/** Applies the access table to the broker, as its SCRAM super user; returns once the broker enforces it. */
export async function grantAccess(brokers: readonly string[], admin: Pick<KafkaSasl, 'username' | 'password'>, groupPrefix: string, timeoutMs = 60_000): Promise<void> {
  const sasl = { mechanism: 'scram-sha-512' as const, username: admin.username, password: admin.password };
  const client = new Kafka({ clientId: 'eplb-infra-acls', brokers: [...brokers], sasl, logLevel: logLevel.NOTHING }).admin();
  await client.connect();
  try {
    const wanted = kafkaAcls(groupPrefix);
    await client.createAcls({ acl: wanted });
    // The controller commits the ACLs; the broker's authorizer applies them when it replays the
    // metadata log, later on a loaded host. Until then the principals would be refused: wait.
    const key = (principal: string, operation: number, resourceType: number, pattern: number, name: string) => `${principal} ${operation} ${resourceType}:${pattern}:${name}`;
    const missing = new Set(wanted.map((a) => key(a.principal, a.operation, a.resourceType, a.resourcePatternType, a.resourceName)));
    const deadline = Date.now() + timeoutMs;
    while (missing.size > 0) {
      const { resources } = await client.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ALLOW,
      });
      for (const r of resources) for (const a of r.acls) missing.delete(key(a.principal, a.operation, r.resourceType, r.resourcePatternType, r.resourceName));
      if (missing.size === 0) break;
      if (Date.now() > deadline) throw new Error(`the broker did not apply ${missing.size} ACL(s) within ${timeoutMs / 1000}s: ${[...missing].join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await client.disconnect();
  }
}
