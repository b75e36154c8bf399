import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KAFKA_PRINCIPALS, type KafkaPrincipal } from '@eplb/contracts';
import type { KafkaSasl } from '@eplb/platform';

/**
 * The broker's own security when the launcher runs it with KAFKA_SECURITY=scram: clients
 * authenticate with SCRAM-SHA-512 on a SASL_PLAINTEXT listener, the StandardAuthorizer refuses
 * whatever no ACL allows, and each role has its own principal (the ACLs: kafka-acls.ts).
 *
 * The SCRAM users are written into the cluster's first metadata when the data directory is
 * formatted (KRaft keeps credentials in the metadata log, so there is no user store to fill
 * before the broker can authenticate anybody). Their passwords are generated then and kept in the
 * data directory, readable by its owner only.
 */
export type KafkaSecurity = 'none' | 'scram';

/** The launcher's own principal: a super user, it creates topics and ACLs. */
export const ADMIN_PRINCIPAL = 'admin';
/** The broker's connection to its controller (same process, loopback): a super user too. */
const CONTROLLER_PRINCIPAL = 'controller';
const MECHANISM = 'SCRAM-SHA-512';

export type BrokerCredentials = Readonly<Record<KafkaPrincipal | typeof ADMIN_PRINCIPAL | typeof CONTROLLER_PRINCIPAL, string>>;

const credentialsFile = (dataDir: string) => join(dataDir, 'credentials.json');

// base64url: no character that the format tool's `[name=…,password=…]` or a JAAS string would
// have to escape
const password = () => randomBytes(24).toString('base64url');

/** Passwords for every principal, made once per data directory. */
export function ensureCredentials(dataDir: string): BrokerCredentials {
  const file = credentialsFile(dataDir);
  if (existsSync(file)) return readCredentials(dataDir);
  const creds = Object.fromEntries([ADMIN_PRINCIPAL, CONTROLLER_PRINCIPAL, ...KAFKA_PRINCIPALS].map((p) => [p, password()])) as BrokerCredentials;
  writeFileSync(file, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  return creds;
}

export function readCredentials(dataDir: string): BrokerCredentials {
  return JSON.parse(readFileSync(credentialsFile(dataDir), 'utf8')) as BrokerCredentials;
}

export const hasCredentials = (dataDir: string): boolean => existsSync(credentialsFile(dataDir));

/** The client settings one principal connects with (what KAFKA_SASL_* carry to an app). */
export function saslFor(creds: BrokerCredentials, principal: KafkaPrincipal | typeof ADMIN_PRINCIPAL): KafkaSasl {
  return { mechanism: 'scram-sha-512', username: principal, password: creds[principal] };
}

/** The environment that makes an app connect as `sasl` (the KAFKA_SASL_* settings it validates). */
export function saslEnv(sasl: KafkaSasl): Record<'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD', string> {
  return { KAFKA_SASL_MECHANISM: sasl.mechanism, KAFKA_SASL_USERNAME: sasl.username, KAFKA_SASL_PASSWORD: sasl.password };
}

/** `kafka-storage format` arguments that create every SCRAM user in the first metadata. */
export function scramFormatArgs(creds: BrokerCredentials): string[] {
  const users: (KafkaPrincipal | typeof ADMIN_PRINCIPAL)[] = [ADMIN_PRINCIPAL, ...KAFKA_PRINCIPALS];
  return users.flatMap((p) => ['--add-scram', `${MECHANISM}=[name=${p},password=${creds[p]}]`]);
}

/**
 * server.properties for the secured broker: the client listener SASL; the controller listener
 * also authenticated (PLAIN with one static user: SCRAM cannot serve it, the controller reads the
 * SCRAM users from the very log it serves), so a process on the host reaches neither anonymously.
 */
export function securedListenerProps(creds: BrokerCredentials, port: number, controllerPort: number): string[] {
  const jaasString = (module: string, fields: Record<string, string>) =>
    `${module} required ${Object.entries(fields).map(([k, v]) => `${k}="${v}"`).join(' ')};`;
  return [
    `listeners=SASL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=SASL://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=SASL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
    'inter.broker.listener.name=SASL',
    `listener.name.sasl.sasl.enabled.mechanisms=${MECHANISM}`,
    `sasl.mechanism.inter.broker.protocol=${MECHANISM}`,
    `listener.name.sasl.scram-sha-512.sasl.jaas.config=${jaasString('org.apache.kafka.common.security.scram.ScramLoginModule', {
      username: ADMIN_PRINCIPAL,
      password: creds.admin,
    })}`,
    'sasl.mechanism.controller.protocol=PLAIN',
    'listener.name.controller.sasl.enabled.mechanisms=PLAIN',
    `listener.name.controller.plain.sasl.jaas.config=${jaasString('org.apache.kafka.common.security.plain.PlainLoginModule', {
      username: CONTROLLER_PRINCIPAL,
      password: creds.controller,
      [`user_${CONTROLLER_PRINCIPAL}`]: creds.controller,
    })}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    // what no ACL allows is refused, for every principal but the two super users
    'allow.everyone.if.no.acl.found=false',
    `super.users=User:${ADMIN_PRINCIPAL};User:${CONTROLLER_PRINCIPAL}`,
  ];
}
