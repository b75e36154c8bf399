/** The heat consumer's group name (under KAFKA_GROUP_PREFIX), also named in its dead letters. */
export const COLLECTOR_GROUP = 'collector';
