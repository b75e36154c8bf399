import { ApiClient } from '@eplb/api-client';
import { DEV_BOOTSTRAP_TOKEN } from '@eplb/platform';

/**
 * The API as the CLI reaches it: EPLB_API_URL (default the local stack) and EPLB_TOKEN (default
 * the development operator token); every event a request causes records "eplb CLI" as its origin.
 */
export const defaultApiClient = (env: NodeJS.ProcessEnv = process.env): ApiClient =>
  new ApiClient({
    baseUrl: env.EPLB_API_URL ?? 'http://127.0.0.1:3000',
    token: env.EPLB_TOKEN ?? DEV_BOOTSTRAP_TOKEN,
    reason: 'eplb CLI',
  });
