/**
 * Kafka topics of the control plane. The version is part of the name: a breaking change to a
 * message is a new topic, consumed side by side with the old one until producers move.
 */
export const TOPICS = {
  /** Workers' per-step slot heat; key = deployment id. */
  heat: 'eplb.heat.v1',
  /** Anything a consumer rejected, with the reason in headers and body. */
  heatDeadLetter: 'eplb.heat.v1.dlq',
  /** Rollout service → agents: prepare / commit / abort for one agent; key = deployment id. */
  rolloutCommands: 'eplb.rollout.commands.v1',
  /** Agents → rollout service: acks and holdings reports; key = deployment id. */
  rolloutAcks: 'eplb.rollout.acks.v1',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Partition counts when the project creates the topics; heat is keyed by deployment. */
export function topicSpecs(heatPartitions: number): { topic: TopicName; partitions: number }[] {
  return [
    { topic: TOPICS.heat, partitions: heatPartitions },
    { topic: TOPICS.heatDeadLetter, partitions: 1 },
    { topic: TOPICS.rolloutCommands, partitions: 4 },
    { topic: TOPICS.rolloutAcks, partitions: 4 },
  ];
}
