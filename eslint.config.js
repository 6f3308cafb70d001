// ESLint flat config: typescript-eslint type-checked rules, plus the layering rules of
// HOUSE-STYLE §4.8 (grpc-js only in its transport, LevelDB only in src/storage, handlers free
// of transports).
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
    // @grpc/grpc-js lives in its transport alone, LevelDB in src/storage alone.
    files: ['src/**/*.ts'],
    ignores: ['src/transport/grpc-js/**', 'src/storage/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['@grpc/grpc-js', '@grpc/proto-loader', 'classic-level', 'memory-level'] },
      ],
    },
  },
  {
    files: ['src/transport/grpc-js/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['classic-level', 'memory-level'] }] },
  },
  {
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['@grpc/grpc-js', '@grpc/proto-loader'] }],
    },
  },
  {
    // Handlers never import a transport: transports serve the contract in src/api/rpc.ts.
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@grpc/grpc-js', '@grpc/proto-loader', 'classic-level', 'memory-level'],
          patterns: [{ group: ['**/transport/**'], message: 'handlers never import a transport' }],
        },
      ],
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
