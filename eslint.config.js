// ESLint flat config: typescript-eslint's type-aware rules over src/, test/ and bench/.
// Why typescript-eslint (over Biome): its rules read the TypeScript type checker, so they catch
// what matters in this code base: floating promises in the service and pool, `any` leaking out of
// JSON and worker messages, and type assertions that the types already make unnecessary.
// Formatting is Prettier's job (npm run format), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // node:test's test()/describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      // Numbers, booleans and arrays print as expected in messages; objects do not.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowArray: true, allowNever: true, allowNullish: true },
      ],
      // Every CLI command has the same async signature, whether or not it awaits.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
    },
  },
  {
    // Tests read parsed JSON, HTTP bodies and Prometheus answers as `any` and check their shape with
    // assertions at run time; typing every such document would add nothing the assertions lack.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Benchmarks print their figures.
    files: ['bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/report/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The HTML report's browser scripts (inlined into the pages by src/report/assets.ts): plain
    // ES5 scripts with the browser's globals; live.js is the shared inside of runs.js and run.js.
    files: ['src/report/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        Chart: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        getComputedStyle: 'readonly',
        location: 'readonly',
        setTimeout: 'readonly',
      },
    },
    rules: { 'no-var': 'off', '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }] },
  },
  {
    files: ['src/report/assets/runs.js', 'src/report/assets/run.js'],
    languageOptions: {
      globals: {
        live: 'readonly',
        status: 'writable',
        poll: 'readonly',
        setBadge: 'readonly',
        runFailed: 'readonly',
        setProgress: 'readonly',
        fmtTime: 'readonly',
      },
    },
  },
  {
    files: ['src/report/assets/live.js'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
);
