export { createDataSource, runMigrations, ensureDatabase } from './data-source';
export { DatabaseModule, PostgresCheck } from './nest/database.module';
export { appendEvents, readStream, type EventMeta, type NewEvent, type StoredEvent } from './repositories/event-store';
export {
  DeploymentRepository,
  DeploymentExistsError,
  type DeploymentRecord,
  type NewDeployment,
} from './repositories/deployment.repository';
export { HeatWindowRepository, type StoredEpisode, type StoredInterval } from './repositories/heat-window.repository';
export { ApiTokenRepository, ROLES, hashToken, type Role, type TokenPrincipal } from './repositories/api-token.repository';
