/**
 * Server configuration from etcd-compatible command-line flags and `ETCD_*` environment
 * variables: the module's public surface. Each file of src/config owns one job:
 *
 *   server-config.ts    ServerConfig, parseConfig, defaultConfig, validation (etcd embed/etcdmain)
 *   flag-set.ts         the command line and the ETCD_* environment (Go flag, etcd pkg/flags)
 *   flag-table.ts       every flag with its kind, default, help group and text
 *   go-flags.ts         Go's parsing of booleans, integers and durations, with Go's texts
 *   urls.ts             etcd's URL lists, Go-style URL strings, bindTarget
 *   auto-compaction.ts  --auto-compaction-mode/-retention
 *   initial-cluster.ts  --initial-cluster and the new-member bootstrap checks
 *   help.ts             the --help text
 *   errors.ts           ConfigError and the helpers that format error texts
 */
export { type AutoCompaction } from './auto-compaction.js';
export { ConfigError } from './errors.js';
export { flagToEnv } from './flag-set.js';
export { DEFAULT_EMULATED_VERSION } from './flag-table.js';
export { parseGoDuration } from './go-flags.js';
export { helpText } from './help.js';
export { checkInitialCluster, parseInitialCluster } from './initial-cluster.js';
export {
  defaultConfig,
  type LogLevel,
  parseConfig,
  type ParseResult,
  type ServerConfig,
} from './server-config.js';
export { bindTarget, urlString } from './urls.js';
