import { DynamicModule, Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';
import { resolve } from 'node:path';

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
 * every data call carries the token the user signed in with.
 */
@Module({})
export class ConsoleStaticModule {
  static forRoot(consoleDir: string): DynamicModule {
    return {
      module: ConsoleStaticModule,
      imports: [
        ServeStaticModule.forRoot({
          rootPath: resolve(consoleDir),
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
