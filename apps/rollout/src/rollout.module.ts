import { DynamicModule, Module } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { DatabaseModule, DeploymentRolloutsReader, FollowedRollouts, PostgresCheck, RolloutEventRepository } from '@eplb/persistence';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, REDIS, RedisCheck, RedisModule } from '@eplb/platform';
import { AgentAuthenticator } from './agents/agent-authenticator';
import { AgentGateway } from './agents/agent-gateway';
import { AgentRegistry } from './agents/agent-registry';
import { AgentPublicKeys } from './agents/agent-public-keys';
import { ServiceSigningKey } from './agents/service-signing-key';
import { AnalysisGatePoller } from './analysis-gate.poller';
import { RolloutDrivers } from './driving/rollout-drivers';
import { RolloutLog } from './driving/rollout-log';
import { RolloutPlanner } from './driving/rollout-planner';
import { RolloutRequestsPoller } from './driving/rollout-requests.poller';
import { RolloutRunner } from './driving/rollout-runner';
import { HeatAnalysis } from './heat-analysis';
import { AutoDeployer } from './loop/auto-deployer';
import { EmergencyDeployer } from './loop/emergency-deployer';
import { LoopSnapshotReader } from './loop/loop-snapshot';
import { OutcomeRecorder } from './outcome/outcome-recorder';
import { RolloutOutcomeMeasurer } from './outcome/rollout-outcome.measurer';
import { RolloutInstance } from './rollout-instance';
import { RolloutLock } from './rollout-lock';
import { RolloutLockRenewal } from './rollout-lock-renewal';
import { RolloutReadinessCheck } from './rollout-readiness.check';
import { loadRolloutSettings, ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';
import { RolloutStats } from './rollout-stats';
import { RolloutLayerMetrics } from './driving/rollout-layer.metrics';
import { RolloutService } from './rollout.service';

/**
 * Map-version rollouts. Depends on Postgres (event log, map versions, the collector's heat for
 * analysis gates, the rollout locks' fencing generations), Kafka (agent commands and acks when an
 * agent has no direct control connection) and Redis (the per-deployment rollout lock, the agent
 * registry).
 */
@Module({})
export class RolloutModule {
  static forRoot(config: AppConfig, logger: Logger, settings: RolloutSettings = loadRolloutSettings()): DynamicModule {
    return {
      module: RolloutModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, MessagingModule, RedisModule],
      controllers: [...healthControllers],
      providers: [
        readinessChecks(PostgresCheck, KafkaCheck, RedisCheck, RolloutReadinessCheck),
        { provide: ROLLOUT_SETTINGS, useValue: settings },
        RolloutInstance,
        RolloutStats,
        RolloutLayerMetrics,
        {
          provide: RolloutLock,
          inject: [REDIS, RolloutEventRepository, RolloutInstance],
          useFactory: (redis: Redis, events: RolloutEventRepository, instance: RolloutInstance) =>
            new RolloutLock(redis, () => events.nextGeneration(), instance.id, settings.ROLLOUT_LOCK_TTL_MS),
        },
        // this instance's fold of every deployment's rollouts stream, shared by the poll and the runner
        { provide: FollowedRollouts, inject: [DeploymentRolloutsReader], useFactory: (reader: DeploymentRolloutsReader) => reader.followAll() },
        RolloutDrivers,
        RolloutLog,
        RolloutPlanner,
        HeatAnalysis,
        AnalysisGatePoller,
        { provide: ServiceSigningKey, useFactory: () => ServiceSigningKey.load(settings, logger) },
        AgentPublicKeys,
        AgentAuthenticator,
        AgentRegistry,
        AgentGateway,
        RolloutRunner,
        RolloutRequestsPoller,
        LoopSnapshotReader,
        EmergencyDeployer,
        AutoDeployer,
        RolloutLockRenewal,
        RolloutOutcomeMeasurer,
        OutcomeRecorder,
        RolloutReadinessCheck,
        RolloutService,
      ],
    };
  }
}
