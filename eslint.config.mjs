// @ts-check
import tseslint from 'typescript-eslint';

/**
 * Type-aware rules only: the mistakes the compiler lets through and review misses. Import
 * boundaries and cycles are dependency-cruiser's job (.dependency-cruiser.cjs), run first by
 * `npm run lint`.
 */
export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', 'infra/**', 'python/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // one program for the whole tree (tsconfig.json covers apps, libs, scripts, bench, test)
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // a promise nobody awaits loses its rejection; `void` says it is deliberate
      '@typescript-eslint/no-floating-promises': 'error',
      // an async callback where a void one is expected (event handlers, forEach) drops its errors
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // a switch over a union with no default must name every member, so a new member is a compile
      // stop; a default is a deliberate "everything else"
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
);
