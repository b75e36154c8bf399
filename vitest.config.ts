import { defineConfig } from 'vitest/config';
import { alias, plugins } from './vitest.shared';

// Unit tier: pure logic, no services.
export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'bench/**/*.spec.ts', 'scripts/**/*.spec.ts', 'test/lint/**/*.spec.ts'],
    environment: 'node',
    pool: 'threads',
    // A timeout here only catches a hang: property tests (fast-check) and the boundary-lint probe
    // take seconds, and several times that when CI shares the two cores with other work.
    testTimeout: 60_000,
  },
});
