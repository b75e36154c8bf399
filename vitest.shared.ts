import { resolve } from 'node:path';
import swc from 'unplugin-swc';

// One alias table for both tiers; mirrors "paths" in tsconfig.json.
export const alias = {
  '@eplb/domain': resolve(__dirname, 'libs/domain/src/index.ts'),
  '@eplb/device': resolve(__dirname, 'libs/device/src/index.ts'),
  '@eplb/contracts': resolve(__dirname, 'libs/contracts/src/index.ts'),
  '@eplb/persistence': resolve(__dirname, 'libs/persistence/src/index.ts'),
  '@eplb/messaging': resolve(__dirname, 'libs/messaging/src/index.ts'),
  '@eplb/platform': resolve(__dirname, 'libs/platform/src/index.ts'),
  '@eplb/planning': resolve(__dirname, 'libs/planning/src/index.ts'),
  '@eplb/api-client': resolve(__dirname, 'libs/api-client/src/index.ts'),
  '@eplb/cli': resolve(__dirname, 'libs/cli/src/index.ts'),
};

// SWC keeps decorator metadata, which Nest's dependency injection needs (esbuild drops it).
export const plugins = [swc.vite({ module: { type: 'es6' } })];
