// ESLint flat config: typescript-eslint type-checked rules, plus the layering rules of
// HOUSE-STYLE §4.8 (gRPC only in src/api and src/server.ts, LevelDB only in src/storage).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'eslint.config.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: [
                'test',
                'it',
                'describe',
                'suite',
                'before',
                'after',
                'beforeEach',
                'afterEach',
              ],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'max-lines': ['warn', 600],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/api/**', 'src/server.ts', 'src/storage/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['@grpc/grpc-js', '@grpc/proto-loader', 'classic-level', 'memory-level'] },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts', 'src/server.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['classic-level', 'memory-level'] }] },
  },
  {
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['@grpc/grpc-js', '@grpc/proto-loader'] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'max-lines': 'off',
    },
  },
);
