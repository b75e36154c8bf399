import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { PlanningModule } from '@eplb/planning';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, RedisCheck, RedisModule } from '@eplb/platform';
import { TokenGuard } from './auth/token.guard';
import { PolicyController } from './policy/policy.controller';
import { UpdateSettingsUseCase } from './policy/update-settings.use-case';
import { GetSettingsUseCase } from './policy/get-settings.use-case';
import { PolicyRunsUseCase } from './policy/policy-runs.use-case';
import { WhatIfUseCase } from './policy/what-if.use-case';
import { BootstrapTokenService } from './bootstrap-token.service';
import { CreateDeploymentUseCase } from './deployments/create-deployment.use-case';
import { GetDeploymentUseCase } from './deployments/get-deployment.use-case';
import { ListDeploymentsUseCase } from './deployments/list-deployments.use-case';
import { DeploymentsController } from './deployments/deployments.controller';
import { HeatController } from './heat/heat.controller';
import { HeatExportUseCase } from './heat/heat-export.use-case';
import { HeatRangeResolver } from './heat/heat-range';
import { HeatSeries } from './heat/heat-series';
import { HeatmapUseCase } from './heat/heatmap.use-case';
import { ImbalanceTrendUseCase } from './heat/imbalance-trend.use-case';
import { ListEpisodesUseCase } from './heat/list-episodes.use-case';
import { TopExpertsUseCase } from './heat/top-experts.use-case';
import { IssueTokenUseCase } from './tokens/issue-token.use-case';
import { ListTokensUseCase } from './tokens/list-tokens.use-case';
import { RevokeTokenUseCase } from './tokens/revoke-token.use-case';
import { TokensController } from './tokens/tokens.controller';
import { MeController } from './tokens/me.controller';
import { ConsoleStaticModule } from './console/console-static.module';
import { RolloutsController } from './rollouts/rollouts.controller';
import { RequestRolloutUseCase } from './rollouts/request-rollout.use-case';
import { RolloutAgentsCheck } from './rollouts/rollout-agents.check';
import { ApproveProposalUseCase } from './policy/approve-proposal.use-case';
import { LoopController } from './loop/loop.controller';
import { LoopStatusUseCase } from './loop/loop-status.use-case';
import { ControlRolloutUseCase } from './rollouts/control-rollout.use-case';
import { ListRolloutsUseCase } from './rollouts/list-rollouts.use-case';
import { GetRolloutUseCase } from './rollouts/get-rollout.use-case';
import { RolloutTimelineUseCase } from './rollouts/rollout-timeline.use-case';
import { AgentsController } from './rollouts/agents.controller';
import { AgentsUseCase } from './rollouts/agents.use-case';
import { EnrolAgentKeyUseCase } from './rollouts/enrol-agent-key.use-case';
import { RebalancingController } from './rollouts/rebalancing.controller';
import { RebalancingUseCase } from './rollouts/rebalancing.use-case';
import { MapsController } from './maps/maps.controller';
import { GetMapVersionUseCase } from './maps/get-map-version.use-case';
import { DiffMapVersionsUseCase } from './maps/diff-map-versions.use-case';
import { ImportMapVersionUseCase } from './maps/import-map-version.use-case';
import { ListMapVersionsUseCase } from './maps/list-map-versions.use-case';
import { EventsController } from './events/events.controller';
import { ListEventsUseCase } from './events/list-events.use-case';
import { LiveController } from './live/live.controller';
import { DeploymentLiveService } from './live/deployment-live.service';

/** Admin and analyst HTTP API. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, MessagingModule, RedisModule, PlanningModule, ConsoleStaticModule.forRoot(config.CONSOLE_DIR)],
      controllers: [...healthControllers, TokensController, MeController, DeploymentsController, HeatController, PolicyController, RolloutsController, RebalancingController, AgentsController, MapsController, LoopController, EventsController, LiveController],
      providers: [
        readinessChecks(PostgresCheck, KafkaCheck, RedisCheck),
        { provide: APP_GUARD, useClass: TokenGuard },
        BootstrapTokenService,
        IssueTokenUseCase,
        ListTokensUseCase,
        RevokeTokenUseCase,
        CreateDeploymentUseCase,
        ListDeploymentsUseCase,
        GetDeploymentUseCase,
        HeatRangeResolver,
        HeatSeries,
        ListEpisodesUseCase,
        HeatmapUseCase,
        TopExpertsUseCase,
        ImbalanceTrendUseCase,
        HeatExportUseCase,
        GetSettingsUseCase,
        UpdateSettingsUseCase,
        PolicyRunsUseCase,
        WhatIfUseCase,
        RequestRolloutUseCase,
        RolloutAgentsCheck,
        ApproveProposalUseCase,
        LoopStatusUseCase,
        ControlRolloutUseCase,
        ListRolloutsUseCase,
        GetRolloutUseCase,
        RolloutTimelineUseCase,
        RebalancingUseCase,
        AgentsUseCase,
        EnrolAgentKeyUseCase,
        GetMapVersionUseCase,
        DiffMapVersionsUseCase,
        ImportMapVersionUseCase,
        ListMapVersionsUseCase,
        ListEventsUseCase,
        DeploymentLiveService,
      ],
    };
  }
}
