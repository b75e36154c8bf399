import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { APP_CONFIG, AppConfig, LOGGER, ReadinessCheck } from '@eplb/platform';
import { createDataSource, ensureDatabase, runMigrations } from '../data-source';
import { AgentKeyRepository } from '../repositories/agent-key.repository';
import { ApiTokenRepository } from '../repositories/api-token.repository';
import { AuditLogRepository } from '../repositories/audit-log.repository';
import { DeploymentRepository } from '../repositories/deployment.repository';
import { HeatPartitionClaims } from '../repositories/heat-partition-claims';
import { HeatWindowRepository } from '../repositories/heat-window.repository';
import { PolicyRunRepository } from '../repositories/policy-run.repository';
import { RolloutEventRepository } from '../repositories/rollout-event.repository';
import { DeploymentRolloutsReader, FollowedDeploymentViews } from '../read-models/deployment-rollouts.reader';

@Injectable()
export class PostgresCheck implements ReadinessCheck {
  readonly name = 'postgres';
  constructor(private readonly ds: DataSource) {}
  async check(): Promise<void> {
    try {
      await this.ds.query('SELECT 1');
    } catch (err) {
      throw new Error(`Postgres unreachable: ${(err as Error).message}`);
    }
  }
}

const repository = <T>(cls: new (ds: DataSource) => T) => ({ provide: cls, inject: [DataSource], useFactory: (ds: DataSource) => new cls(ds) });

/**
 * The app's connection pool, migrated at start (unless MIGRATIONS_RUN_AT_START=false), and the
 * repositories over it. Repositories hand out plain records, never entities.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [APP_CONFIG, LOGGER],
      useFactory: async (config: AppConfig, logger: Logger) => {
        const app = (logger.bindings() as { app?: string }).app ?? 'eplb';
        if (config.MIGRATIONS_RUN_AT_START && (await ensureDatabase(config.DATABASE_URL))) {
          logger.info({ database: new URL(config.DATABASE_URL).pathname.slice(1) }, 'database created');
        }
        const ds = createDataSource(config.DATABASE_URL, `eplb-${app}`);
        await ds.initialize();
        if (config.MIGRATIONS_RUN_AT_START) {
          const applied = await runMigrations(ds);
          if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
        }
        return ds;
      },
    },
    PostgresCheck,
    repository(DeploymentRepository),
    repository(HeatWindowRepository),
    repository(HeatPartitionClaims),
    repository(PolicyRunRepository),
    repository(ApiTokenRepository),
    repository(AgentKeyRepository),
    repository(RolloutEventRepository),
    repository(DeploymentRolloutsReader),
    repository(AuditLogRepository),
    { provide: FollowedDeploymentViews, inject: [DeploymentRolloutsReader], useFactory: (reader: DeploymentRolloutsReader) => new FollowedDeploymentViews(reader) },
  ],
  exports: [DataSource, PostgresCheck, DeploymentRepository, HeatWindowRepository, HeatPartitionClaims, ApiTokenRepository, AgentKeyRepository, PolicyRunRepository, RolloutEventRepository, DeploymentRolloutsReader, FollowedDeploymentViews, AuditLogRepository],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(private readonly ds: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
