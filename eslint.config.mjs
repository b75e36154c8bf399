// @ts-check
import tseslint from 'typescript-eslint';

/**
 * Type-aware rules only: the mistakes the compiler lets through and review misses. Import
 * boundaries and cycles are dependency-cruiser's job (.dependency-cruiser.cjs), run first by
 * `npm run lint`.
 */
const typeAwareRules = {
  // a promise nobody awaits loses its rejection; `void` says it is deliberate
  '@typescript-eslint/no-floating-promises': 'error',
  // an async callback where a void one is expected (event handlers, forEach) drops its errors
  '@typescript-eslint/no-misused-promises': 'error',
  '@typescript-eslint/await-thenable': 'error',
  // a switch over a union with no default must name every member, so a new member is a compile
  // stop; a default is a deliberate "everything else"
  '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.data/**',
      'infra/**',
      'python/**',
      'coverage/**',
      // AssemblyScript (i32, unchecked, decorators on functions): compiled by asc, not tsc
      'bench/probes/wasm-greedy/assembly/**',
    ],
  },
  {
    files: ['**/*.ts'],
    // the web console is its own program (browser, JSX): next block
    ignores: ['apps/console/**'],
    languageOptions: {
      parser: tseslint.parser,
      // one program for the whole tree (tsconfig.json covers apps, libs, scripts, bench, test)
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: typeAwareRules,
  },
  {
    files: ['apps/console/**/*.ts', 'apps/console/**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: ['./apps/console/tsconfig.json', './apps/console/tsconfig.node.json'], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: typeAwareRules,
  },
  {
    // The console runs in a browser: its tsconfig has Node's types only for what it reads from
    // libs/contracts, so Node is kept out of its own sources here.
    files: ['apps/console/src/**/*.ts', 'apps/console/src/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^node:', message: 'the console runs in a browser' }] }],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'require', '__dirname'],
    },
  },
);
