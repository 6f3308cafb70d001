/**
 * The auth store as a transport-free library (etcd's auth package): what the server wires in.
 * See store.ts for the store and its durability contract, checks.ts for which permission each
 * request needs, token-options.ts for --auth-token.
 */
export * from './checks.js';
export * from './errors.js';
export * from './jwt.js';
export * from './password.js';
export * from './perm-cache.js';
export * from './records.js';
export * from './simple-token.js';
export * from './store.js';
export * from './token-options.js';
export * from './token-provider.js';
export * from './types.js';
