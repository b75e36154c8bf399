import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const repo = resolve(__dirname, '../..');

/**
 * The console as static files for the API to serve under /console (`npm run build` → dist/console).
 * Preact's JSX through esbuild; the API client is the shared lib, bundled from its source.
 * `CONSOLE_OUT_DIR` builds elsewhere (the browser test builds its own copy).
 */
export default defineConfig({
  root: __dirname,
  base: '/console/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: { '@eplb/api-client': resolve(repo, 'libs/api-client/src/index.ts') },
  },
  build: {
    outDir: process.env.CONSOLE_OUT_DIR ?? resolve(repo, 'dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    // ECharts alone is ~600 kB minified even with only the parts the console uses
    chunkSizeWarningLimit: 1200,
  },
});
