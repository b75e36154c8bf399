export * from './topics';
export { deploymentIdSchema } from './deployment-id';
export * from './heat/heat-event.v1';
export * from './dead-letter/dead-letter';
export * from './rollout/rollout-messages.v1';
export * from './rollout/rollout-streams';
export { firstIssue, readJson, type JsonRead } from './parse';
export { AGENT_SIGNATURE_HEADER, SERVICE_SIGNATURES_HEADER, agentSigningKey, signAgentMessage, signedWithOneOf, signForEach } from './rollout/agent-signature';
export * from './http';
