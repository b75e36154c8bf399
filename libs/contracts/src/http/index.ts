// The HTTP API's request and response bodies, one file per resource: the API's mappers return
// these types and the clients (CLI, simulator, console) read them, so both compile against one
// declaration.
export * from './problem';
export * from './deployment-shape';
export * from './deployments';
export * from './policy';
export * from './maps';
export * from './heat';
export * from './tokens';
export * from './rollouts';
export * from './rollout-requests';
export * from './loop';
export * from './events';
export * from './outcomes';
export * from './live';
