#!/usr/bin/env node
// `storaged`: runs the daemon with settings from the environment.

import { ConfigError } from './config/config-error';
import { CatalogPathIsDirectory } from './db/catalog-lock';
import { loadConfig } from './config/daemon-config';
import { runCheck } from './check/run-check';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { runBackup, runListBackups } from './cli/backup';
import { RefusedError, runRebuild } from './cli/rebuild';
import { readMigrationTarget, runMigrateCatalog } from './cli/migrate-catalog';
import { runRestore } from './cli/restore';
import { Daemon, STORAGED_VERSION } from './daemon';
import { createLogger } from './logger';

const USAGE = `usage: storaged [--help] [--version]
       storaged check [--verify-checksums] [--repair]
       storaged rebuild [--force]
       storaged backup [--list]
       storaged restore [--from NAME|latest]
       STORAGED_MIGRATE_TO=postgres://USER:PASSWORD@HOST:PORT/DB storaged migrate-catalog [--replace]
       storaged migrate-catalog --to-file FILE [--replace]
       storaged migrate-catalog --to URL [--replace]   (shows the password to ps)

Runs the storaged daemon. Settings come from the environment (see README.md):
  STORAGED_DATA_DIR, STORAGED_SOCKET, SQLITE_PATH, MINIO_ENDPOINT, MINIO_PORT,
  MINIO_USE_SSL, MINIO_ACCESS_KEY, MINIO_SECRET_KEY, HOST, PORT, LOG_LEVEL, ...

check reports, as JSON, whether the database and the blob store agree (and
with --verify-checksums, re-hashes every object). It opens the database
read-only and changes nothing, so it is safe beside the running daemon.
--repair (daemon stopped) first finishes what recovery would, by its rules,
and reports what it did. Exit 0: consistent; 1: problems found; 2: could not check.

rebuild (daemon stopped) makes a new catalog from the blob store alone: every
object that names itself (id, client, user, filename, type, size, sha256)
becomes a photo again. A catalog with photos in it, or one SQLite cannot read,
is refused unless --force, which moves it aside. Prints a JSON report. Exit 0: rebuilt; 2: refused or failed.

backup takes a backup of the catalog now (safe beside a running daemon) into
the blob store's backups bucket; --list lists them, newest first.
restore (daemon stopped) brings the catalog back from a backup (default
latest), then reconciles it with the blob store: photos stored since are
adopted back, rows whose object is gone are removed. Prints a JSON report.

migrate-catalog (daemon stopped) copies the SQLite catalog into an empty
PostgreSQL catalog (schema made first), every row and the catalog's identity,
in one transaction, and checks the counts before committing; then gives the
SQLite file a catalog id of its own, so that a daemon started on it again
cannot take photos stored through PostgreSQL for its own leftovers. A target
that already holds a catalog is refused unless --replace, which empties it
first. The target URL comes from STORAGED_MIGRATE_TO or the first line of
--to-file FILE (mode 600; a file group or others may read is refused);
--to URL still works, with a warning when the URL holds a password, since
every user of the host reads the process list.
Prints a JSON report. Exit 0: copied; 2: refused or failed, nothing copied.
`;

// Exit codes from sysexits.h so service managers can tell a usage or config mistake from a crash.
const EX_USAGE = 64;
const EX_CONFIG = 78;

function fail(message: string, code: number): never {
  process.stderr.write(`storaged: ${message}\n`);
  process.exit(code);
}

function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EX_CONFIG);
    throw err;
  }
}

async function check(args: string[]): Promise<void> {
  for (const arg of args) if (arg !== '--verify-checksums' && arg !== '--repair') fail(`unknown argument '${arg}' for check\n${USAGE}`, EX_USAGE);
  const config = loadConfigOrExit();
  refuseSharedCatalog(config, 'check');
  try {
    const report = await runCheck(config, { verifyChecksums: args.includes('--verify-checksums'), repair: args.includes('--repair') });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.exitCode = report.ok ? 0 : 1;
  } catch (err) {
    fail(`check failed: ${err instanceof Error ? err.message : String(err)}`, 2);
  }
}

/** check, rebuild, backup and restore work on the SQLite file; on a PostgreSQL catalog they would act on the wrong database. */
function refuseSharedCatalog(config: ReturnType<typeof loadConfig>, name: string): void {
  if (config.postgres === null) return;
  fail(
    `${name} works on the embedded SQLite catalog, and STORAGED_CATALOG_URL points this storaged at PostgreSQL: back up and restore PostgreSQL with its own tools (pg_dump, replicas); unset STORAGED_CATALOG_URL to ${name} a SQLite file`,
    2,
  );
}

type CommandOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** Runs a catalog command: its options parsed strictly (a mistake is a usage error), its report printed as JSON, a failure one line with exit 2. */
async function catalogCommand<O extends CommandOptions>(
  name: string,
  args: string[],
  options: O,
  run: (config: ReturnType<typeof loadConfig>, values: Record<string, string | boolean | undefined>) => Promise<unknown>,
): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false; tokens: true }>>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    fail(`${(err as Error).message} (${name})\n${USAGE}`, EX_USAGE);
  }
  // parseArgs keeps the last of a repeated option silently: `restore --from A --from B` would restore B.
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) fail(`option '${token.rawName}' given twice (${name})\n${USAGE}`, EX_USAGE);
    seen.add(token.name);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const config = loadConfigOrExit();
  // migrate-catalog reads the SQLite file and writes to its --to URL: STORAGED_CATALOG_URL may already be set for the daemons to come.
  if (name !== 'migrate-catalog') refuseSharedCatalog(config, name);
  try {
    process.stdout.write(`${JSON.stringify(await run(config, values), null, 2)}\n`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    fail(err instanceof RefusedError ? message : `${name} failed: ${message}`, 2);
  }
}

const stringOf = (value: string | boolean | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  check,
  rebuild: (args) => catalogCommand('rebuild', args, { force: { type: 'boolean' } }, (c, v) => runRebuild(c, v.force === true)),
  backup: (args) =>
    catalogCommand('backup', args, { list: { type: 'boolean' } }, (c, v) => (v.list === true ? runListBackups(c) : runBackup(c))),
  restore: (args) =>
    catalogCommand('restore', args, { from: { type: 'string' } }, (c, v) => runRestore(c, typeof v.from === 'string' ? v.from : 'latest')),
  'migrate-catalog': (args) =>
    catalogCommand('migrate-catalog', args, { to: { type: 'string' }, 'to-file': { type: 'string' }, replace: { type: 'boolean' } }, async (c, v) => {
      // On stderr: stdout carries the JSON report.
      const logger = createLogger(c.logLevel, pino.destination({ dest: 2, sync: true }));
      const target = readMigrationTarget({ to: stringOf(v.to), toFile: stringOf(v['to-file']) }, process.env, logger);
      return runMigrateCatalog(c, target.url, v.replace === true, target.source);
    }),
};

async function main(argv: string[]): Promise<void> {
  const command = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? COMMANDS[argv[0]] : undefined;
  if (command !== undefined) return command(argv.slice(1));
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      return;
    }
    if (arg === '--version') {
      process.stdout.write(`${STORAGED_VERSION}\n`);
      return;
    }
    fail(`unknown argument '${arg}'\n${USAGE}`, EX_USAGE);
  }

  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  // Handlers go in before the daemon starts: it says "ready" before start()
  // returns, and a SIGTERM that came right after would otherwise kill it
  // without a clean shutdown. One that comes while it starts is acted on once
  // it has started, so that close() has a whole daemon to close.
  let daemon: Daemon | null = null;
  let requested: string | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (daemon === null) {
      requested ??= signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    daemon.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    daemon = await Daemon.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'storaged could not start');
    fail(err instanceof Error ? err.message : String(err), err instanceof CatalogPathIsDirectory ? EX_CONFIG : 1);
  }
  if (requested !== null) stop(requested);
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`storaged: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
