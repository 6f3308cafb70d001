/**
 * CLI entry: etcd's flags and ETCD_* environment → ServerConfig → startServer; SIGINT/SIGTERM
 * close the server gracefully, within SHUTDOWN_LIMIT_MS (a second signal exits at once).
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkInitialCluster, ConfigError, parseConfig } from './config/index.js';
import { limitHeapGrowth, startIdleGc, tuneMarkingTrigger } from './idle-gc.js';
import { createLogger, flushLogsBeforeExit } from './logger.js';
import { SERVER_VERSION, startServer } from './server.js';

/** A graceful stop that takes longer than this (a stuck client, a slow disk) exits anyway. */
const SHUTDOWN_LIMIT_MS = 10_000;

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err.exitCode);
    }
    throw err;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(
      `etcd-ts Version: ${SERVER_VERSION}\netcd API Version: ${process.env['ETCD_EMULATED_ETCD_VERSION'] ?? '3.5.17'}\n` +
        `Node Version: ${process.version}\nNode OS/Arch: ${process.platform}/${process.arch}\n`,
    );
    return;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return;
  }
  const cfg = parsed.config;
  limitHeapGrowth();
  tuneMarkingTrigger();
  const log = createLogger(cfg.logLevel);
  for (const w of parsed.warnings) log.warn({}, w);
  const fresh = cfg.inMemory || !fs.existsSync(path.join(cfg.dataDir, 'member'));
  try {
    if (fresh) checkInitialCluster(cfg);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.fatal({ err: err.message }, 'invalid cluster configuration');
      flushLogsBeforeExit();
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let server;
  try {
    // ETCD_TS_JOURNAL_FILE_BYTES is for tests that want the journal to rotate often.
    const journalFileBytes = Number(process.env['ETCD_TS_JOURNAL_FILE_BYTES']) || undefined;
    server = await startServer({ ...cfg, log, exitOnFatal: true, journalFileBytes });
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    flushLogsBeforeExit();
    process.exit(1);
  }
  startIdleGc({
    onCollect: (before, after, tookMs) =>
      log.debug(
        { heapBeforeMb: before >> 20, heapAfterMb: after >> 20, tookMs: Math.round(tookMs) },
        'idle: returned unused heap',
      ),
  });
  let stopping = false;
  const exit = (code: number): never => {
    flushLogsBeforeExit();
    process.exit(code);
  };
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now');
      exit(1);
    }
    stopping = true;
    log.info({ signal }, 'received signal; shutting down');
    setTimeout(() => {
      log.warn({ limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown took too long; exiting');
      exit(1);
    }, SHUTDOWN_LIMIT_MS);
    server.close().then(
      () => exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
