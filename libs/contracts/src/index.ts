export * from './topics';
export * from './heat/heat-event.v1';
export * from './dead-letter/dead-letter';
export * from './rollout/rollout-messages.v1';
export * from './rollout/rollout-streams';
export { firstIssue, readJson, type JsonRead } from './parse';
export { AGENT_SIGNATURE_HEADER, agentSignatureValid, agentSigningKey, signAgentMessage } from './rollout/agent-signature';
