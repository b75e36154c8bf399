import { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { ProblemFilter } from '../http/problem.filter';
import { NestPinoLogger } from '../logging/logger';
import { httpRequestDuration } from '../metrics/metrics';

export interface HttpAppOptions {
  readonly name: string;
  readonly module: Type<unknown> | { module: Type<unknown> };
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  /** Publishes the OpenAPI document at /docs (and /docs-json). */
  readonly docs?: { title: string; description: string };
  /** Called before listen, e.g. to attach a microservice transport. */
  readonly beforeListen?: (app: INestApplication) => Promise<void>;
}

/** The common start of every HTTP app: structured logs, problem+json, metrics, docs, clean stop. */
export async function bootstrapHttpApp(options: HttpAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create(options.module as Type<unknown>, {
    logger: new NestPinoLogger(options.logger),
    bufferLogs: false,
  });
  app.useGlobalFilters(new ProblemFilter(options.logger));
  // No ETags: API answers are not cached, and hashing a 10 MB heatmap costs tens of milliseconds.
  (app.getHttpAdapter().getInstance() as { set(key: string, value: unknown): void }).set('etag', false);
  app.enableShutdownHooks();
  app.use((req: Request, res: Response, next: NextFunction) => {
    const end = httpRequestDuration.startTimer({ method: req.method });
    res.on('finish', () => end({ route: (req.route as { path?: string } | undefined)?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });
  if (options.docs) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle(options.docs.title)
        .setDescription(options.docs.description)
        .setVersion('1')
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API token (roles: operator, analyst, agent)' })
        .build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  }
  if (options.beforeListen) await options.beforeListen(app);
  await app.listen(options.port, options.host);
  options.logger.info({ url: `http://${options.host}:${options.port}` }, `${options.name} listening`);
  return app;
}

/** Logs what would otherwise kill the process silently; input never reaches here by design. */
export function installProcessGuards(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
}
