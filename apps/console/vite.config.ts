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
    // ECharts alone is ~600 kB minified even with only the parts the console uses; it is a chunk
    // of its own, fetched when a chart first draws (shell/use-echart.ts)
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // what several pages share (the shell, the API client, the time ranges and their selects) is one chunk the
        // entry preloads beside itself, not a few-hundred-byte file each that a page then waits
        // for: every file is a round trip to the API before the page can ask for its data
        manualChunks: (id) => (/\/apps\/console\/src\/(shell|session)\/|\/libs\/|\/heat\/(time-range\.ts|range-select\.tsx)$/.test(id) && !id.endsWith('/shell/echarts.ts') ? 'shell' : undefined),
      },
    },
  },
});
