import { DynamicModule, Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONSOLE_DIR, ConsoleNotBuiltController } from './console-not-built.controller';

/** Where the console lives: its API calls are same-origin under /v1, with the bearer token it holds. */
export const CONSOLE_ROOT = '/console';

/**
 * Vite names every built asset after its content hash, so a browser may keep one for good; the
 * index (the SPA's every route) names the current assets, so it is revalidated on each load.
 */
export function consoleCacheControl(path: string): string {
  return /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * The built web console as static files under /console, with index.html for every other path
 * below it (the console routes in the browser). Served without a token: the files hold no data,
 * every data call carries the token the user signed in with. Without a build there, /console
 * answers a problem saying so.
 */
@Module({})
export class ConsoleStaticModule {
  static forRoot(consoleDir: string): DynamicModule {
    const rootPath = resolve(consoleDir);
    if (!existsSync(join(rootPath, 'index.html'))) {
      return { module: ConsoleStaticModule, controllers: [ConsoleNotBuiltController], providers: [{ provide: CONSOLE_DIR, useValue: rootPath }] };
    }
    return {
      module: ConsoleStaticModule,
      imports: [
        ServeStaticModule.forRoot({
          rootPath,
          serveRoot: CONSOLE_ROOT,
          serveStaticOptions: {
            etag: true,
            setHeaders: (res: Response, path: string) => {
              res.setHeader('Cache-Control', consoleCacheControl(path));
              res.setHeader('X-Content-Type-Options', 'nosniff');
            },
          },
        }),
      ],
    };
  }
}
