import { defineConfig } from 'vitest/config';
import { alias, plugins } from './vitest.shared';

// Unit tier: pure logic, no services.
export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'bench/**/*.spec.ts', 'scripts/**/*.spec.ts'],
    environment: 'node',
    pool: 'threads',
  },
});
