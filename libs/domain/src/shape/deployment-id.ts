/**
 * A deployment id: what Kafka keys heat with, what every URL and stream name carries. Lowercase
 * letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 128 characters —
 * safe in a topic key, a Redis key, a file name and a URL path segment alike.
 */
export const DEPLOYMENT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const DEPLOYMENT_ID_MAX_LENGTH = 128;
export const DEPLOYMENT_ID_RULE = 'lowercase letters, digits, . _ -';

export const isDeploymentId = (s: unknown): s is string =>
  typeof s === 'string' && s.length > 0 && s.length <= DEPLOYMENT_ID_MAX_LENGTH && DEPLOYMENT_ID_PATTERN.test(s);
