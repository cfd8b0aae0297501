// Lint for the whole repository: typescript-eslint's type-aware rules on TypeScript (sources and tests, through
// tsconfig.test.json, the program `npm run typecheck` checks), import hygiene everywhere, and the package boundary rule: a package is
// used through its name (`@sluice/x`, its src/index.ts), never by reaching into another package's src or test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const deepImports = {
  patterns: [
    { group: ['@sluice/*/*'], message: 'Import a package by its name; its public surface is src/index.ts.' },
    {
      group: ['**/packages/*/src/**', '**/packages/*/test/**'],
      message: "Do not reach into another package's src or test: import it by name (test support is @sluice/testing).",
    },
    {
      regex: '^(\\.\\./)+[^./][^/]*/(src|test)(/|$)',
      message: "Do not reach into another package's src or test: import it by name (test support is @sluice/testing).",
    },
    { regex: '^(\\.\\./)+test/', message: 'Test support shared across packages is @sluice/testing.' },
  ],
};

export default tseslint.config(
  // The dashboard's built assets are Vite's output; its browser code (web/src) is linted below against its own tsconfig.
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.cache/**', 'bench/results/**', 'packages/core/test/vendor/**', 'packages/dashboard/assets/**', 'packages/dashboard/web/vite.config.ts'],
  },
  js.configs.recommended,
  importX.flatConfigs.recommended,
  {
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['tsconfig.test.json'], alwaysTryTypes: true })],
    },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        Headers: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        URLSearchParams: 'readonly',
        Blob: 'readonly',
        global: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-unresolved': 'off', // tsc resolves TypeScript imports; the resolver is for no-cycle
      'no-restricted-imports': ['error', deepImports],
      // Protocol validation matches control characters on purpose (header values, URI references, excerpts).
      'no-control-regex': 'off',
      // A leading underscore marks a binding that is there on purpose (a callback's unused parameter, a rest sibling).
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked, importX.flatConfigs.typescript],
    languageOptions: { parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // tsc checks imports of TypeScript files (names, defaults of CommonJS modules such as kafkajs).
      'import-x/default': 'off',
      'import-x/named': 'off',
      'import-x/namespace': 'off',
      'import-x/no-named-as-default-member': 'off',
      // An async function without await is how an interface's promise-returning method turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // `TimerHandle | undefined` says a handle may be absent even where TimerHandle is `unknown`.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // Shown, not failed: values read from YAML and JSON are `unknown` but scalar by their schema.
      '@typescript-eslint/no-base-to-string': 'warn',
      // Re-throwing or rejecting with what a catch or a callback received is not a new non-Error throw.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests call methods detached from fakes and read parsed JSON without declaring a type for every field.
    files: ['packages/*/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The dashboard's browser code (Preact, DOM) has its own strict tsconfig; the type-aware rules read its types
    // from there, not from tsconfig.test.json (Node, no DOM).
    files: ['packages/dashboard/web/src/**/*.{ts,tsx}'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: ['./packages/dashboard/web/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
);
