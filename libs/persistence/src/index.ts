export { createDataSource, runMigrations, ensureDatabase } from './data-source';
export { DatabaseModule, PostgresCheck } from './nest/database.module';
export { appendEvents, readStream, readStreamsWithPrefix, readWholeStream, type EventMeta, type NewEvent, type StoredEvent } from './repositories/event-store';
export { APPEND_FENCED, appendFenced, appendFencedValues, type RolloutFence } from './repositories/rollout-fence';
export {
  DeploymentRepository,
  DeploymentExistsError,
  StaleMapVersionError,
  MODES,
  ROLLOUT_ON_FAILURE,
  DEFAULT_ROLLOUT_STEPS,
  type RolloutOnFailure,
  type Mode,
  type PolicySettings,
  type DeploymentRecord,
  type NewDeployment,
  type MapVersionInfo,
  type MapVersionRecord,
} from './repositories/deployment.repository';
export { shapeOf } from './repositories/deployment-shape.mapper';
export { HeatWindowRepository, type StoredEpisode, type StoredInterval } from './repositories/heat-window.repository';
export { HeatPartitionClaims, HeatPartitionLost, type HeatPartition } from './repositories/heat-partition-claims';
export { ApiTokenRepository, ROLES, hashToken, type Role, type TokenPrincipal, type TokenRecord, type TokenScope } from './repositories/api-token.repository';
export { AgentKeyRepository, type KeyEnrolment } from './repositories/agent-key.repository';
export { PolicyRunRepository, type NewPolicyRun, type PolicyRunRecord, type RunStatus } from './repositories/policy-run.repository';
export { rebuildDeployments } from './read-models/deployments.projection';
export { RolloutEventRepository } from './repositories/rollout-event.repository';
export {
  versionsPerLayer,
  DeploymentRollouts,
  rolloutMachineEvents,
  type FinishedRollout,
  type RolloutControlRecord,
  type RolloutRequestRecord,
  type RolloutStreamEvent,
} from './read-models/deployment-rollouts.projection';
export { DeploymentRolloutsReader, FollowedDeploymentRollouts, FollowedDeploymentViews, FollowedRollouts, type RolloutsSnapshot } from './read-models/deployment-rollouts.reader';
export { AuditLogRepository, type AuditQuery } from './repositories/audit-log.repository';
