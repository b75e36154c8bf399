import { defineConfig } from 'vitest/config';
import { alias, plugins } from './vitest.shared';

// Integration tier: real Kafka, Postgres and Redis, started by the global setup when absent.
export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    include: ['test/integration/**/*.int-spec.ts'],
    environment: 'node',
    globalSetup: ['test/support/global-setup.ts'],
    // One file at a time: they share one broker and database, and the machine has two cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
