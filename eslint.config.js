// Type-aware lint for the whole TypeScript tree (src, scripts, test), run by `npm test` before
// the tests. The type-checked sets are what matter for a daemon: a floating promise or an async
// function handed to a callback that ignores its promise is how one request could stop the process.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cache/**',
      'coverage/**',
      // Static protobuf codecs written by protobufjs-cli (`npm run proto:gen`), committed as
      // generated: plain JavaScript in pbjs's own style and pbts declarations, outside the rules
      // of code written here. What they do is checked by test/unit/protocol/static-codecs.test.ts.
      'src/protocol/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.check.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a parameter a signature requires, or a property taken out of an object on
      // purpose (`const { secret: _s, ...rest } = o`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Fakes implement async interfaces (a credentials reader, a server's stop) with bodies that
      // need no await; in the product such a function is a finding, in a fake it is the point.
      '@typescript-eslint/require-await': 'off',
      // Tests of escaping match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // This file itself, and the `node --import` hook of the start-up test (Node runs it as it is,
    // before any TypeScript), are plain JavaScript outside the TypeScript project.
    files: ['eslint.config.js', 'test/support/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
