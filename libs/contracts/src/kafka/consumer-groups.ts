/**
 * Consumer-group names. A broker run with ACLs grants each principal its groups by these names
 * (or their prefixes), so the apps take their group ids from here and the grants follow them.
 * `groupPrefix` is KAFKA_GROUP_PREFIX: one broker can serve several planes (or test runs) apart.
 */
export const CONSUMER_GROUPS = {
  /** All collector instances share one group: the heat topic's partitions are shared out. */
  collector: (groupPrefix: string) => `${groupPrefix}.collector`,
  /** The groups of every agent start so: one per (deployment, node), each reads every command. */
  agentPrefix: (groupPrefix: string) => `${groupPrefix}-agent-`,
  /** The groups of every rollout-service instance start so: each instance sees every ack. */
  rolloutPrefix: (groupPrefix: string) => `${groupPrefix}-rollout-`,
} as const;

export const agentGroup = (groupPrefix: string, deployment: string, node: number): string =>
  `${CONSUMER_GROUPS.agentPrefix(groupPrefix)}${deployment}-${node}`;

export const rolloutGroup = (groupPrefix: string, instance: string): string => `${CONSUMER_GROUPS.rolloutPrefix(groupPrefix)}${instance}`;
