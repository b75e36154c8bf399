import { TOPICS, topicSpecs, type TopicName } from '../topics';
import { CONSUMER_GROUPS } from './consumer-groups';

/**
 * Who may do what on a broker run with ACLs (KAFKA_SECURITY=scram): one SCRAM principal per role,
 * granted exactly the topics and consumer groups its code uses and nothing else. A worker cannot
 * forge commands, an agent cannot forge heat, nobody but the rollout service sends commands.
 * The launcher turns this table into the broker's ACLs; the README's table is rendered from it.
 */
export type KafkaPrincipal = 'worker' | 'collector' | 'rollout' | 'agent' | 'api';

export interface GroupGrant {
  /** `literal`: exactly this group; `prefixed`: every group whose id starts with it. */
  readonly pattern: 'literal' | 'prefixed';
  readonly name: (groupPrefix: string) => string;
}

export interface KafkaGrants {
  /** Who runs as this principal. */
  readonly who: string;
  readonly write: readonly TopicName[];
  readonly read: readonly TopicName[];
  /** Groups it may join and commit offsets in (READ on the group). */
  readonly groups: readonly GroupGrant[];
}

export const KAFKA_ACCESS: Readonly<Record<KafkaPrincipal, KafkaGrants>> = {
  worker: {
    who: 'inference workers, the simulator, `eplb heat publish`, the Python publisher',
    write: [TOPICS.heat],
    read: [],
    groups: [],
  },
  collector: {
    who: 'the collector',
    write: [TOPICS.heatDeadLetter],
    read: [TOPICS.heat],
    groups: [{ pattern: 'literal', name: CONSUMER_GROUPS.collector }],
  },
  rollout: {
    who: 'the rollout service',
    write: [TOPICS.rolloutCommands],
    read: [TOPICS.rolloutAcks],
    groups: [{ pattern: 'prefixed', name: CONSUMER_GROUPS.rolloutPrefix }],
  },
  agent: {
    who: 'the node agents',
    write: [TOPICS.rolloutAcks],
    read: [TOPICS.rolloutCommands],
    groups: [{ pattern: 'prefixed', name: CONSUMER_GROUPS.agentPrefix }],
  },
  api: {
    // connects for its readiness probe only (cluster metadata, which needs no grant)
    who: 'the API (readiness probe)',
    write: [],
    read: [],
    groups: [],
  },
};

export const KAFKA_PRINCIPALS = Object.keys(KAFKA_ACCESS) as KafkaPrincipal[];

/**
 * The topics a principal uses, as the project creates them: what an app may ensure at start on a
 * broker where it may see (and so create-if-missing) only its own topics.
 */
export function topicSpecsFor(principal: KafkaPrincipal, heatPartitions: number): ReturnType<typeof topicSpecs> {
  const mine = new Set<TopicName>([...KAFKA_ACCESS[principal].read, ...KAFKA_ACCESS[principal].write]);
  return topicSpecs(heatPartitions).filter((s) => mine.has(s.topic));
}
