/**
 * etcd-ts as a library: start a real etcd v3 API server in-process.
 *
 *   const etcd = await startServer();            // in memory, random port
 *   // … point a client at etcd.endpoint …
 *   await etcd.close();
 */
export { startServer, SERVER_VERSION, type RunningServer, type StartOptions } from './server.js';
export { defaultConfig, parseConfig, ConfigError, type ServerConfig } from './config/index.js';
