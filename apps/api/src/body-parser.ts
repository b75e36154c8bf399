import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

/**
 * Map imports (POST /v1/deployments/:id/maps) carry whole engine map files: a DeepSeek-V3
 * vllm-ascend map is a few hundred kB, above the 100 kB default of the JSON parser. Registered
 * before the app starts, so Nest's default parser is not added after it.
 */
export const API_JSON_LIMIT = '16mb';

export async function configureApiBodyParser(app: INestApplication): Promise<void> {
  (app as NestExpressApplication).useBodyParser('json', { limit: API_JSON_LIMIT });
}
