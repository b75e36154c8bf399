import type { INestApplication } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import { ApiTokenRepository } from '@eplb/persistence';
import { authenticateBeforeBody } from './auth/authenticate-before-body';

/**
 * Routes whose bodies carry whole engine map files: a map import (POST /v1/deployments/:id/maps)
 * or a deployment created with its initial map file (POST /v1/deployments). A DeepSeek-V3
 * vllm-ascend map is a few hundred kB; 4096 ranks of it are megabytes.
 */
const MAP_FILE_ROUTES = [/^\/v1\/deployments\/?$/, /^\/v1\/deployments\/[^/]+\/maps\/?$/];
export const MAP_FILE_JSON_LIMIT = '16mb';
/** Every other body is a handful of fields (settings, a reason, a rollout request). */
export const API_JSON_LIMIT = '256kb';

/**
 * Authentication first, then JSON bodies up to a limit per route. Registered before the app
 * starts: Nest adds its own JSON parser at init unless one named `jsonParser` is already there.
 */
export async function configureApiBodyParser(app: INestApplication): Promise<void> {
  app.use(authenticateBeforeBody(app.get(ApiTokenRepository)));
  const mapFiles = json({ limit: MAP_FILE_JSON_LIMIT });
  const small = json({ limit: API_JSON_LIMIT });
  app.use(function jsonParser(req: Request, res: Response, next: NextFunction) {
    const parse = req.method === 'POST' && MAP_FILE_ROUTES.some((r) => r.test(req.path)) ? mapFiles : small;
    parse(req, res, next);
  });
}
