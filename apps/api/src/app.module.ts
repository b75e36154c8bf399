import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, RedisCheck, RedisModule } from '@eplb/platform';
import { TokenGuard } from './auth/token.guard';
import { BootstrapTokenService } from './bootstrap-token.service';
import { CreateDeploymentUseCase } from './deployments/create-deployment.use-case';
import { DeploymentsController } from './deployments/deployments.controller';
import { HeatController } from './heat/heat.controller';
import { ListHeatReportsUseCase } from './heat/list-heat-reports.use-case';
import { IssueTokenUseCase } from './tokens/issue-token.use-case';
import { TokensController } from './tokens/tokens.controller';

/** Admin and analyst HTTP API. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, MessagingModule, RedisModule],
      controllers: [...healthControllers, TokensController, DeploymentsController, HeatController],
      providers: [
        readinessChecks(PostgresCheck, KafkaCheck, RedisCheck),
        { provide: APP_GUARD, useClass: TokenGuard },
        BootstrapTokenService,
        IssueTokenUseCase,
        CreateDeploymentUseCase,
        ListHeatReportsUseCase,
      ],
    };
  }
}
