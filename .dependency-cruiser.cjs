// @ts-check
/**
 * The layering README promises, checked on every `npm run lint` (scripts/lint-boundaries.mjs).
 *
 * apps/ are deployables: they import libs through their `@eplb/<lib>` index, never another app.
 * libs/ import each other only along LIB_GRAPH below, and never an app. libs/domain imports nothing
 * but its own files. No import cycles anywhere.
 */

/**
 * Which libs each lib may import (through `@eplb/<lib>`). This is the graph as it stands; widening
 * it is a design decision, so it is made here, in review, rather than by an import that slips in.
 * libs/domain is absent on purpose: `domain-is-pure` allows it nothing.
 * @type {Record<string, string[]>}
 */
const LIB_GRAPH = {
  contracts: ['domain'],
  device: ['domain'],
  platform: ['contracts', 'domain'],
  messaging: ['contracts', 'platform'],
  persistence: ['contracts', 'domain', 'platform'],
  planning: ['contracts', 'domain', 'persistence'],
  // the typed API client the CLI and the simulator share (libs/api-client, arriving with the CLI
  // rework): the API's response types come from contracts
  'api-client': ['contracts', 'domain'],
};

// What tsconfig.build.json compiles and production runs: apps, libs and the TypeScript scripts
// (start, migrate, infra), without the specs and the libs' test support.
const PRODUCTION = ['^(apps|libs|migrations)/', '^scripts/.+\\.ts$'];
const NOT_PRODUCTION = ['\\.spec\\.ts$', '^libs/[^/]+/test/'];
const LIB_INDEX = '^libs/[^/]+/src/index\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration['forbidden']} */
const forbidden = [
  {
    name: 'domain-is-pure',
    comment: 'libs/domain is pure TypeScript: it imports only its own files (no node:, no packages, no other lib)',
    severity: 'error',
    from: { path: '^libs/domain/src/', pathNot: NOT_PRODUCTION },
    to: { pathNot: '^libs/domain/src/' },
  },
  {
    name: 'domain-tests-are-pure',
    comment: "libs/domain's specs and test support import domain files and the test tools (vitest, fast-check) only",
    severity: 'error',
    from: { path: ['^libs/domain/src/.+\\.spec\\.ts$', '^libs/domain/test/'] },
    to: { pathNot: ['^libs/domain/(src|test)/', 'node_modules/(vitest|fast-check)/'] },
  },
  ...Object.entries(LIB_GRAPH).map(([lib, allowed]) => ({
    name: 'lib-graph',
    comment: `libs/${lib} may import ${allowed.map((l) => `@eplb/${l}`).join(', ')} and no other lib (.dependency-cruiser.cjs LIB_GRAPH)`,
    severity: /** @type {const} */ ('error'),
    from: { path: `^libs/${lib}/` },
    to: { path: '^libs/', pathNot: [`^libs/${lib}/`, ...allowed.map((l) => `^libs/${l}/`)] },
  })),
  {
    name: 'lib-not-in-graph',
    comment: 'a lib missing from LIB_GRAPH in .dependency-cruiser.cjs imports another lib: add it to the graph',
    severity: 'error',
    from: { path: '^libs/([^/]+)/', pathNot: [`^libs/(domain|${Object.keys(LIB_GRAPH).join('|')})/`] },
    to: { path: '^libs/', pathNot: '^libs/$1/' },
  },
  {
    name: 'no-lib-to-app',
    comment: 'libs never import apps: what two apps share belongs in a lib',
    severity: 'error',
    from: { path: '^libs/' },
    to: { path: '^apps/' },
  },
  {
    name: 'no-app-to-app',
    comment: 'apps never import each other: what two apps share belongs in a lib',
    severity: 'error',
    from: { path: '^apps/([^/]+)/' },
    to: { path: '^apps/', pathNot: '^apps/$1/' },
  },
  // Another lib is reached through its index, `@eplb/<lib>`: not `@eplb/<lib>/src/...`, not
  // `libs/<lib>/src/...` through baseUrl, not a relative `../../libs/<lib>/...` path.
  {
    name: 'lib-via-index',
    comment: 'import another lib through its index, @eplb/<lib>, not a file inside it',
    severity: 'error',
    from: { path: '^libs/([^/]+)/' },
    to: { path: '^libs/', pathNot: ['^libs/$1/', LIB_INDEX] },
  },
  {
    name: 'lib-via-index',
    comment: 'import another lib through its index, @eplb/<lib>, not a file inside it',
    severity: 'error',
    from: {
      pathNot: [
        '^libs/',
        // measures kafkajs with and without our RequestQueue fix, so it loads that one module alone
        '^bench/kafka-idle\\.bench\\.ts$',
        // probes (no bench of record) take a policy apart: its walks, problems and noise floors
        '^bench/probes/',
      ],
    },
    to: { path: '^libs/', pathNot: LIB_INDEX },
  },
  {
    name: 'lib-via-index',
    comment: 'import another lib as @eplb/<lib> (the tsconfig path), not by a relative or baseUrl path to its index',
    severity: 'error',
    from: { path: '^libs/([^/]+)/' },
    to: { path: LIB_INDEX, pathNot: '^libs/$1/', dependencyTypesNot: ['aliased-tsconfig-paths'] },
  },
  {
    name: 'lib-via-index',
    comment: 'import a lib as @eplb/<lib> (the tsconfig path), not by a relative or baseUrl path to its index',
    severity: 'error',
    from: { pathNot: '^libs/' },
    to: { path: LIB_INDEX, dependencyTypesNot: ['aliased-tsconfig-paths'] },
  },
  {
    name: 'lib-via-index',
    comment: '@eplb/<lib>/... does not resolve (tsconfig maps @eplb/<lib> to its index only): import @eplb/<lib>',
    severity: 'error',
    from: {},
    to: { path: '^@eplb/[^/]+/' },
  },
  {
    name: 'no-test-code-in-production',
    comment: 'production code (apps, libs, scripts, migrations) imports neither specs, test support, benches nor test-only packages',
    severity: 'error',
    from: { path: PRODUCTION, pathNot: NOT_PRODUCTION },
    to: { path: ['\\.spec\\.ts$', '\\.int-spec\\.ts$', '^test/', '^libs/[^/]+/test/', '^bench/'] },
  },
  {
    name: 'no-test-code-in-production',
    comment: 'production code (apps, libs, scripts, migrations) imports neither specs, test support, benches nor test-only packages',
    severity: 'error',
    // apps/console is bundled by Vite at build time: its packages (Preact, ECharts) are build
    // inputs, and production serves only what the build wrote to dist/console. The proposal
    // thread's source reaches esbuild only when it runs from TypeScript sources, never from dist/
    from: { path: PRODUCTION, pathNot: [...NOT_PRODUCTION, '^apps/console/', '^libs/planning/src/proposal-thread/worker-source\\.ts$'] },
    // types from a devDependency (@types/express) compile away; code from one is missing in production
    to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'console-via-api-client',
    comment: 'the web console runs in a browser: it reaches the API through @eplb/api-client, and takes only types from other libs (a value import would bundle Kafka schemas and Node code)',
    severity: 'error',
    from: { path: '^apps/console/' },
    to: { path: '^libs/', pathNot: '^libs/api-client/', dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'no-circular',
    comment: 'no import cycles: a cycle makes load order decide what is undefined at start',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  {
    name: 'not-to-unresolvable',
    comment: 'an import that does not resolve',
    severity: 'error',
    from: {},
    to: { couldNotResolve: true },
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    // type-only imports count too: a layer that needs another's types depends on it
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // packages' `exports` maps (dependency-cruiser's own, used by scripts/lint-boundaries.mjs)
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
