// ESLint flat config: typescript-eslint type-checked rules, plus the layering rules of
// HOUSE-STYLE §4.8 (grpc-js only in its transport, LevelDB only in src/storage, handlers free
// of transports).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders of src/ and what each may not import (by path pattern). */
const LAYERS = {
  util: [
    'proto',
    'storage',
    'mvcc',
    'lease',
    'watch',
    'auth',
    'cluster',
    'etcdserver',
    'api',
    'transport',
    'config',
  ],
  // The types generated from proto/ (src/proto/generated.ts): util's Long and nothing else.
  proto: [
    'storage',
    'mvcc',
    'lease',
    'watch',
    'auth',
    'cluster',
    'etcdserver',
    'api',
    'transport',
    'config',
  ],
  storage: [
    'mvcc',
    'lease',
    'watch',
    'auth',
    'cluster',
    'etcdserver',
    'api',
    'transport',
    'config',
  ],
  mvcc: ['lease', 'watch', 'auth', 'cluster', 'etcdserver', 'api', 'transport', 'config'],
  cluster: ['mvcc', 'lease', 'watch', 'auth', 'etcdserver', 'api', 'transport', 'config'],
  // The lessor reaches the store through interfaces: mvcc's types only.
  lease: ['watch', 'auth', 'cluster', 'etcdserver', 'api', 'transport', 'config', 'mvcc!types.js'],
  watch: ['lease', 'auth', 'cluster', 'etcdserver', 'api', 'transport', 'config'],
  auth: ['mvcc', 'lease', 'watch', 'cluster', 'etcdserver', 'api', 'transport', 'config'],
  etcdserver: ['api', 'transport', 'config'],
  // Handlers never import a transport: transports serve the contract in src/api/rpc.ts.
  api: ['transport', 'config'],
  transport: ['storage', 'mvcc', 'lease', 'watch', 'auth', 'cluster', 'etcdserver'],
  config: ['storage', 'mvcc', 'lease', 'watch', 'auth', 'cluster', 'etcdserver', 'api'],
};

/** Packages that belong to one layer: grpc-js to its transport, LevelDB to storage. */
const PACKAGES = {
  grpc: ['@grpc/grpc-js', '@grpc/proto-loader'],
  level: ['classic-level', 'memory-level'],
};

function layerRules() {
  return Object.entries(LAYERS).map(([layer, banned]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...(layer === 'storage' ? [] : PACKAGES.level),
            ...(layer === 'transport' ? [] : PACKAGES.grpc),
          ],
          // 'dir!file': all of dir but that file.
          patterns: banned.map((b) => {
            const [dir, except] = b.split('!');
            return {
              group: except ? [`**/${dir}/*`, `!**/${dir}/${except}`] : [`**/${dir}/**`],
              message: `src/${layer} sits below src/${dir}`,
              // config describes what the layers below it take: it may name their types.
              allowTypeImports: layer === 'config',
            };
          }),
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'eslint.config.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
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
      // strictTypeChecked, with three rules tuned: numbers and booleans read well in template
      // strings; arrow shorthands returning void are the callbacks' idiom; and `!` stays
      // allowed because noUncheckedIndexedAccess types every index access as possibly
      // undefined, and the loops that guard them are the hot paths (a check there costs).
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      'max-lines': ['error', 600],
    },
  },
  // Layers, lowest first; each may import only from the layers below it (and src/errors.ts,
  // the wire error table). server.ts, main.ts and index.ts compose them and import anything.
  ...layerRules(),
  // Generated from every message of proto/: as long as the protos are.
  { files: ['src/proto/generated.ts'], rules: { 'max-lines': 'off' } },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Tests poll state that callbacks change (`while (!done)`), which type narrowing cannot
      // see, and edit process environments by name.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      'max-lines': 'off',
    },
  },
);
