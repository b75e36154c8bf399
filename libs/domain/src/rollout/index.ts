export * from './status';
export * from './plan';
export * from './holdings';
export * from './machine';
export * from './agent-ledger';
export * from './analysis';
export * from './start';
export * from './rollout-nodes';
