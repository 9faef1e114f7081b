// The daemon's settings, read once from the environment at start. Names follow
// the seed (SQLITE_PATH, MINIO_*, PORT, HOST, LOG_LEVEL) plus STORAGED_* for
// what the seed did not have.

import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_MAX_BODY_BYTES } from '../../protocol/limits';
import { DEFAULT_ALLOWED_TYPES } from '../validation/allowed-types';
import { bodyKindOf, type BodyKind, type BodyLimits } from '../validation/body-limits';
import { ConfigError } from './config-error';
import { readAdmissionSettings, type AdmissionSettings } from './admission-settings';
import type { S3Settings } from '../../s3/s3-settings';
import { readGatewayTokens, type GatewayTokens } from './gateway-tokens';
import { parseSocketUsers, type SocketUsers } from './socket-users';
import { loadPeerCredentials, type ReadPeerCredentials } from '../socket/peer-credentials';
import { Env, readBoolean, readChoice, readInteger, readList, readString } from './env-readers';
import { DEFAULT_WORKER_NICE } from '../workers/worker-pool';
import { DEFAULT_SEARCH_THREADS, DEFAULT_SEARCH_TIMEOUT_MS } from '../search-threads/search-threads';
import { DEFAULT_NAMESPACE, NAMESPACE } from '../db/object-key';
import { BUCKET_PREFIX } from '../blobs/prefixed-buckets';
import { DEFAULT_BODY_IDLE_TIMEOUT_MS } from '../gateway/request-body';
import { compileTrustedProxies, TrustedProxyEntryError, type TrustedProxies } from '../gateway/trusted-proxies';
import { DEFAULT_MEMORY_BUDGET_MB, MIN_MEMORY_BUDGET_MB } from '../memory/memory-budget';

export interface MinioSettings extends S3Settings {
  /** MINIO_PATH_STYLE: false for virtual-hosted-style addressing (AWS S3 and others; MinIO with MINIO_DOMAIN). */
  pathStyle: boolean;
}

/** STORAGED_CATALOG_URL set: the catalog is on PostgreSQL, shared by every daemon given the same URL. */
export interface PostgresCatalogSettings {
  /** postgres://… as given (sslmode and other libpq options in it); holds the password: never logged. */
  url: string;
  /** STORAGED_CATALOG_POOL: connections this daemon keeps to it. */
  poolSize: number;
  /** STORAGED_CATALOG_TIMEOUT_MS: bound on a statement and on waiting for a connection (an outage is UNAVAILABLE within it). */
  timeoutMs: number;
}

export interface DaemonConfig {
  dataDir: string;
  sqlitePath: string;
  /** null: the embedded SQLite file at sqlitePath (the default). */
  postgres: PostgresCatalogSettings | null;
  /** STORAGED_NODE_ID (default the host name): names this daemon on the rows it leaves pending. */
  nodeId: string;
  socketPath: string;
  blobDir: string;
  spoolDir: string;
  /** null: blobs go to `blobDir` on local disk (the embedded default). */
  minio: MinioSettings | null;
  /**
   * bodyIdleTimeoutMs: STORAGED_BODY_IDLE_TIMEOUT_S, how long a gateway request body may go without a byte.
   * trustedProxies: STORAGED_TRUSTED_PROXIES, the peers whose X-Forwarded-For names the caller (null: none, the peer is the caller).
   */
  http: { enabled: boolean; host: string; port: number; publicUrl: string | null; bodyIdleTimeoutMs: number; trustedProxies: TrustedProxies | null };
  /** Client tokens: the gateway's bearer tokens, and the socket's hello tokens (empty: every gateway route but /health answers 401). */
  gatewayTokens: GatewayTokens;
  /**
   * STORAGED_SOCKET_AUTH: `token` (hello must carry a valid token), `trusted`
   * (client id taken as sent) or `peercred` (client id from the peer's Unix user).
   */
  socketAuth: 'token' | 'trusted' | 'peercred';
  /** peercred only (else null): STORAGED_SOCKET_USERS. */
  socketUsers: SocketUsers | null;
  /**
   * The addon that reads a socket connection's Unix user: required by
   * peercred; in token mode, when it is built, wrong tokens are counted per
   * Unix user rather than per socket; null in trusted mode or when not built.
   */
  readPeer: ReadPeerCredentials | null;
  maxBodyBytes: number;
  /** Largest body per kind (image/*, video/*, anything else); each defaults to maxBodyBytes. */
  bodyLimits: BodyLimits;
  allowedTypes: string[];
  /** Bodies larger than this are spooled to a file while they arrive instead of held in memory. */
  spoolThresholdBytes: number;
  /**
   * STORAGED_MEMORY_BUDGET_MB: the bytes transfers may hold in memory at
   * once (memory/memory-budget.ts); past it new transfers wait.
   */
  memoryBudgetBytes: number;
  logLevel: string;
  /** Threads of the worker pool (hashing, multipart transfers, WAL checkpoints). */
  workerThreads: number;
  /** The pool threads' nice value, 0-19: bulk work yields the CPU to the event loop. */
  workerNice: number;
  /** MinIO multipart transfers: part size and parts in flight per transfer. */
  multipart: { partBytes: number; concurrency: number };
  recovery: { pendingTimeoutMs: number; orphanGraceMs: number; intervalMs: number; fullSweepIntervalMs: number };
  /** First segment of every object key; storaged lists, sweeps and aborts uploads only under it. */
  namespace: string;
  /** STORAGED_BUCKET_PREFIX: put before every bucket name in the blob store ('' = none). */
  bucketPrefix: string;
  /** Catalog backups to the blob store's `backups` bucket: every intervalMs (0 = off), the newest `keep` kept. */
  backup: { intervalMs: number; keep: number };
  /** STORAGED_IDEMPOTENCY_WINDOW_S: how long stores' idempotency keys are remembered (default 24 h). */
  idempotencyWindowMs: number;
  /** Connections, calls and request rates callers may use at once (admission-settings.ts). */
  admission: AdmissionSettings;
  /**
   * The SQLite catalog's searches: up to STORAGED_SEARCH_THREADS threads
   * (started on demand) run them off the event loop, each search bounded by
   * STORAGED_SEARCH_TIMEOUT_MS
   * (search-threads/search-threads.ts). PostgreSQL runs its searches in the
   * server, each statement bounded by STORAGED_SEARCH_TIMEOUT_MS as well
   * (catalog-pg/photo-search.ts); `threads` is SQLite's alone.
   */
  search: { threads: number; timeoutMs: number };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const MAX_CONFIGURABLE_BODY = 5 * 1024 * 1024 * 1024;
const DAY_SECONDS = 24 * 3600;
const MIB = 1024 * 1024;

/**
 * Bodies up to 4 MiB stay in memory, larger ones are spooled. Measured with
 * `node dist/bench/run.js --only spool` (spool.threshold.*: stores through
 * the sidecar, 4 in flight, a daemon that keeps every body in memory against
 * one that spools every body, on one MinIO; ranges over 3 runs of 3
 * alternating pairs on the shared 2-core machine, 2026-11-29):
 *
 *   body                      1 MiB    2 MiB    4 MiB    8 MiB    16 MiB   32 MiB
 *   RSS per store, memory     11-20    16-25    24-38    41-53    73-89    137-153 MiB
 *   RSS per store, spooled    9-10     9-11     11-12    10-12    11-12    27-29 MiB
 *   spooled / memory MiB/s    0.85-1.05 0.64-1.08 0.81-0.97 0.72-1.07 0.74-0.96 0.62-1.26
 *
 * A body held in memory costs about 4.5 times its size in resident memory
 * (socket frames, the joined buffer, the request's copies until collected);
 * a spooled one a flat ~11 MiB until it goes up in parts. The memory path
 * was faster in every run at 4 MiB (by 3-24%) and in two of three at 2 MiB;
 * from 8 MiB up its edge is no larger or steadier (0.62-1.26 on this loaded
 * machine) while it costs 4 to 5 times the memory of a spooled store. So the
 * line is at 4 MiB, where a store in flight costs at most about 3 times a
 * spooled one; measure again on a quieter machine before moving it.
 */
const DEFAULT_SPOOL_THRESHOLD_BYTES = 4 * MIB;

function readMinio(env: Env): MinioSettings | null {
  const endPoint = readString(env, 'MINIO_ENDPOINT');
  if (endPoint === undefined) {
    // A half-configured MinIO would otherwise silently fall back to local disk.
    const stray = ['MINIO_PORT', 'MINIO_USE_SSL', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'MINIO_REGION', 'MINIO_PATH_STYLE'].find(
      (name) => readString(env, name) !== undefined,
    );
    if (stray !== undefined) {
      throw new ConfigError('MINIO_ENDPOINT', `${stray} is set but MINIO_ENDPOINT is not; set MINIO_ENDPOINT to use MinIO or unset ${stray}`);
    }
    return null;
  }
  if (!/^[A-Za-z0-9.-]+$/.test(endPoint)) {
    throw new ConfigError(
      'MINIO_ENDPOINT',
      `expected a host name or IP address without scheme, port or path (use MINIO_PORT and MINIO_USE_SSL), got '${endPoint}'`,
    );
  }
  const accessKey = readString(env, 'MINIO_ACCESS_KEY');
  if (accessKey === undefined) throw new ConfigError('MINIO_ACCESS_KEY', 'required when MINIO_ENDPOINT is set');
  const secretKey = readString(env, 'MINIO_SECRET_KEY');
  if (secretKey === undefined) throw new ConfigError('MINIO_SECRET_KEY', 'required when MINIO_ENDPOINT is set');
  return {
    endPoint,
    port: readInteger(env, 'MINIO_PORT', 9000, 1, 65535),
    useSSL: readBoolean(env, 'MINIO_USE_SSL', false),
    accessKey,
    secretKey,
    region: readString(env, 'MINIO_REGION', 'us-east-1'),
    pathStyle: readBoolean(env, 'MINIO_PATH_STYLE', true),
  };
}

const BODY_LIMIT_VARIABLES: Record<BodyKind, string> = {
  image: 'STORAGED_MAX_IMAGE_BYTES',
  video: 'STORAGED_MAX_VIDEO_BYTES',
  file: 'STORAGED_MAX_FILE_BYTES',
};

function readBodyLimits(env: Env, maxBodyBytes: number, allowedTypes: readonly string[]): BodyLimits {
  const read = (kind: BodyKind): number => {
    const name = BODY_LIMIT_VARIABLES[kind];
    const limit = readInteger(env, name, maxBodyBytes, 1, MAX_CONFIGURABLE_BODY);
    // A limit no allowed type can use is a mistake in one of the two settings, not something to ignore.
    if (readString(env, name) !== undefined && !allowedTypes.some((type) => bodyKindOf(type) === kind)) {
      const which = kind === 'file' ? 'type other than image/* and video/*' : `${kind}/* type`;
      throw new ConfigError(name, `is set but STORAGED_ALLOWED_TYPES allows no ${which}; add one there or unset ${name}`);
    }
    return limit;
  };
  return { image: read('image'), video: read('video'), file: read('file') };
}

function readPublicUrl(env: Env): string | null {
  const value = readString(env, 'STORAGED_PUBLIC_URL');
  if (value === undefined) return null;
  // Refusals go to stderr and the journal: a value that may carry credentials is not repeated.
  const shown = value.includes('@') ? '(not shown: it holds an @, so it may hold a password)' : `'${value}'`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('STORAGED_PUBLIC_URL', `expected an absolute http(s) URL, got ${shown}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('STORAGED_PUBLIC_URL', `expected an http or https URL, got ${shown}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError('STORAGED_PUBLIC_URL', `expected a base URL without query, fragment or credentials, got ${shown}`);
  }
  if (isWildcard(url.hostname.replace(/^\[|\]$/g, ''))) {
    throw new ConfigError('STORAGED_PUBLIC_URL', `'${url.hostname}' is no address a client can reach; give the name or address clients use`);
  }
  return value.replace(/\/+$/, '');
}

/** Compiled once here: a bad entry stops the daemon at start, naming it, rather than trusting less (or more) than meant. */
function readTrustedProxies(env: Env): TrustedProxies | null {
  const entries = readList(env, 'STORAGED_TRUSTED_PROXIES', []);
  if (entries.length === 0) return null;
  try {
    return compileTrustedProxies(entries);
  } catch (err) {
    if (err instanceof TrustedProxyEntryError) throw new ConfigError('STORAGED_TRUSTED_PROXIES', err.message);
    throw err;
  }
}

/** Listening on every interface: an address to bind, never one to hand out. */
function isWildcard(host: string): boolean {
  return ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', ''].includes(host);
}

/** Token whenever tokens exist; trusted only when asked for, or when there are none to check against. */
function readSocketAuth(env: Env, tokens: GatewayTokens): Pick<DaemonConfig, 'socketAuth' | 'socketUsers' | 'readPeer'> {
  const mode = readChoice(env, 'STORAGED_SOCKET_AUTH', ['token', 'trusted', 'peercred'] as const, tokens.size > 0 ? 'token' : 'trusted');
  const usersSetting = readString(env, 'STORAGED_SOCKET_USERS');
  if (mode !== 'peercred') {
    if (usersSetting !== undefined) {
      throw new ConfigError('STORAGED_SOCKET_USERS', `is set but STORAGED_SOCKET_AUTH is ${mode}; set STORAGED_SOCKET_AUTH=peercred to use it, or unset it`);
    }
    if (mode === 'token' && tokens.size === 0) {
      throw new ConfigError('STORAGED_SOCKET_AUTH', 'is token but no tokens are configured; set STORAGED_TOKENS_FILE (or STORAGED_TOKENS)');
    }
    const read = mode === 'token' ? loadPeerCredentials() : null;
    return { socketAuth: mode, socketUsers: null, readPeer: typeof read === 'function' ? read : null };
  }
  if (usersSetting === undefined) {
    throw new ConfigError(
      'STORAGED_SOCKET_AUTH',
      "is peercred but STORAGED_SOCKET_USERS is not set; list which Unix user is which client, e.g. STORAGED_SOCKET_USERS='1001 photos-app; backup reports admin'",
    );
  }
  const users = parseSocketUsers(usersSetting);
  const read = loadPeerCredentials();
  if (typeof read !== 'function') throw new ConfigError('STORAGED_SOCKET_AUTH', read.problem);
  return { socketAuth: mode, socketUsers: users, readPeer: read };
}

/**
 * The local backend hands out URLs to its blobs on this daemon's listener; with
 * HOST a wildcard, `http://0.0.0.0:PORT/…` would reach nobody, and no single
 * interface is the right one to guess: the operator says.
 */
function checkAnnouncedUrl(minio: MinioSettings | null, host: string, publicUrl: string | null): void {
  if (minio !== null || publicUrl !== null || !isWildcard(host.replace(/^\[|\]$/g, ''))) return;
  throw new ConfigError(
    'STORAGED_PUBLIC_URL',
    `HOST is '${host}' (every interface), so the local blob backend has no address to put in its URLs; set STORAGED_PUBLIC_URL to the URL clients reach this daemon at (e.g. http://storaged.internal:3001)`,
  );
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

function readPostgres(env: Env, minio: MinioSettings | null): PostgresCatalogSettings | null {
  const url = readString(env, 'STORAGED_CATALOG_URL');
  if (url === undefined) {
    const stray = ['STORAGED_CATALOG_POOL', 'STORAGED_CATALOG_TIMEOUT_MS'].find((name) => readString(env, name) !== undefined);
    if (stray !== undefined) throw new ConfigError(stray, `is set but STORAGED_CATALOG_URL is not; set the URL to use PostgreSQL or unset ${stray}`);
    return null;
  }
  // The URL holds the password: messages name its parts, never echo it.
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('STORAGED_CATALOG_URL', 'expected postgres://user:password@host:port/database (the value is not shown: it may hold a password)');
  }
  if (!POSTGRES_URL.test(url) || parsed.hostname === '' || parsed.pathname.length < 2) {
    throw new ConfigError('STORAGED_CATALOG_URL', 'expected postgres://user:password@host:port/database with a host and a database name (the value is not shown: it may hold a password)');
  }
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    throw new ConfigError('STORAGED_CATALOG_URL', `sslmode=${sslmode} is not one of ${SSL_MODES.join(', ')}`);
  }
  // Every host's daemon must see every photo's bytes: a directory on one host cannot be shared.
  if (minio === null) {
    throw new ConfigError('STORAGED_CATALOG_URL', 'a PostgreSQL catalog is shared between hosts, but the blob store is a local directory that is not: set MINIO_ENDPOINT (MinIO or any S3) as well');
  }
  return {
    url,
    poolSize: readInteger(env, 'STORAGED_CATALOG_POOL', 10, 1, 1000),
    timeoutMs: readInteger(env, 'STORAGED_CATALOG_TIMEOUT_MS', 5000, 100, 600_000),
  };
}

/** A node id names a daemon in rows and logs: host-name characters, so no one mistakes it for anything else. */
function readNodeId(env: Env): string {
  const id = readString(env, 'STORAGED_NODE_ID', os.hostname());
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) {
    throw new ConfigError('STORAGED_NODE_ID', `expected 1 to 128 of A-Z a-z 0-9 . _ - starting with a letter or digit, got '${id}'`);
  }
  return id;
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): DaemonConfig {
  const dataDir = path.resolve(cwd, readString(env, 'STORAGED_DATA_DIR', 'data'));
  const inData = (name: string, fallback: string) => path.resolve(cwd, readString(env, name, path.join(dataDir, fallback)));
  const socketPath = inData('STORAGED_SOCKET', 'storaged.sock');
  // sun_path is 108 bytes on Linux; a longer path fails at listen with a cryptic error.
  if (Buffer.byteLength(socketPath) > 107) {
    throw new ConfigError('STORAGED_SOCKET', `socket path is ${Buffer.byteLength(socketPath)} bytes; Unix sockets allow at most 107`);
  }
  const gatewayTokens = readGatewayTokens(env, cwd);
  const maxBodyBytes = readInteger(env, 'STORAGED_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1, MAX_CONFIGURABLE_BODY);
  const allowedTypes = readList(env, 'STORAGED_ALLOWED_TYPES', DEFAULT_ALLOWED_TYPES);
  for (const type of allowedTypes) {
    if (!/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type)) {
      throw new ConfigError('STORAGED_ALLOWED_TYPES', `'${type}' is not a MIME type like image/jpeg`);
    }
  }
  const minio = readMinio(env);
  const host = readString(env, 'HOST', '127.0.0.1');
  const publicUrl = readPublicUrl(env);
  checkAnnouncedUrl(minio, host, publicUrl);
  const postgres = readPostgres(env, minio);
  return {
    dataDir,
    sqlitePath: inData('SQLITE_PATH', 'storage.db'),
    postgres,
    nodeId: readNodeId(env),
    socketPath,
    blobDir: inData('STORAGED_BLOB_DIR', 'blobs'),
    spoolDir: inData('STORAGED_SPOOL_DIR', 'spool'),
    minio,
    http: {
      enabled: readChoice(env, 'STORAGED_GATEWAY', ['on', 'off'], 'on') === 'on',
      host,
      port: readInteger(env, 'PORT', 3001, 0, 65535),
      publicUrl,
      bodyIdleTimeoutMs: readInteger(env, 'STORAGED_BODY_IDLE_TIMEOUT_S', DEFAULT_BODY_IDLE_TIMEOUT_MS / 1000, 1, 3600) * 1000,
      trustedProxies: readTrustedProxies(env),
    },
    gatewayTokens,
    ...readSocketAuth(env, gatewayTokens),
    maxBodyBytes,
    bodyLimits: readBodyLimits(env, maxBodyBytes, allowedTypes),
    allowedTypes,
    spoolThresholdBytes: readInteger(env, 'STORAGED_SPOOL_THRESHOLD_BYTES', DEFAULT_SPOOL_THRESHOLD_BYTES, 0, MAX_CONFIGURABLE_BODY),
    memoryBudgetBytes: readMemoryBudget(env),
    logLevel: readChoice(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    // One core is left to the event loop: the pool's hashing and part transfers
    // then never take the core a small call's answer waits for. On this 2-core
    // machine one thread also keeps the peak RSS of a 300 MB round trip ~45 MiB
    // lower (each thread's isolate holds its own garbage of transfer buffers).
    workerThreads: readInteger(env, 'STORAGED_WORKER_THREADS', Math.max(1, os.availableParallelism() - 1), 1, 64),
    // Negative values would need privileges the daemon should not have.
    workerNice: readInteger(env, 'STORAGED_WORKER_NICE', DEFAULT_WORKER_NICE, 0, 19),
    multipart: {
      // S3 refuses parts under 5 MiB (but the last) and uploads of more than 10,000 parts.
      partBytes: readInteger(env, 'STORAGED_PART_BYTES', 16 * MIB, 5 * MIB, 512 * MIB),
      concurrency: readInteger(env, 'STORAGED_PART_CONCURRENCY', 4, 1, 32),
    },
    recovery: {
      pendingTimeoutMs: readInteger(env, 'STORAGED_PENDING_TIMEOUT_S', 900, 1, DAY_SECONDS) * 1000,
      orphanGraceMs: readInteger(env, 'STORAGED_ORPHAN_GRACE_S', 3600, 0, 30 * DAY_SECONDS) * 1000,
      intervalMs: readInteger(env, 'STORAGED_RECOVERY_INTERVAL_S', 300, 1, DAY_SECONDS) * 1000,
      fullSweepIntervalMs: readInteger(env, 'STORAGED_FULL_SWEEP_INTERVAL_S', DAY_SECONDS, 60, 30 * DAY_SECONDS) * 1000,
    },
    namespace: readNamespace(env),
    bucketPrefix: readBucketPrefix(env),
    backup: {
      intervalMs: readInteger(env, 'BACKUP_INTERVAL', 3600, 0, 30 * DAY_SECONDS) * 1000,
      keep: readInteger(env, 'STORAGED_BACKUP_KEEP', 24, 1, 10_000),
    },
    idempotencyWindowMs: readInteger(env, 'STORAGED_IDEMPOTENCY_WINDOW_S', DAY_SECONDS, 1, 30 * DAY_SECONDS) * 1000,
    admission: readAdmissionSettings(env),
    search: {
      threads: readInteger(env, 'STORAGED_SEARCH_THREADS', DEFAULT_SEARCH_THREADS, 1, 64),
      timeoutMs: readInteger(env, 'STORAGED_SEARCH_TIMEOUT_MS', DEFAULT_SEARCH_TIMEOUT_MS, 10, 600_000),
    },
  };
}

/** The largest budget accepted: 1 TiB in MiB, far past any host this runs on, and safe in bytes. */
const MAX_MEMORY_BUDGET_MB = 1024 * 1024;

function readMemoryBudget(env: Env): number {
  const raw = env['STORAGED_MEMORY_BUDGET_MB']?.trim();
  if (raw !== undefined && raw !== '' && !/^\d+$/.test(raw)) {
    throw new ConfigError(
      'STORAGED_MEMORY_BUDGET_MB',
      `expected a whole number of MiB (the memory transfers may hold at once, default ${DEFAULT_MEMORY_BUDGET_MB}), got '${raw}'`,
    );
  }
  const mb = readInteger(env, 'STORAGED_MEMORY_BUDGET_MB', DEFAULT_MEMORY_BUDGET_MB, 1, MAX_MEMORY_BUDGET_MB);
  if (mb < MIN_MEMORY_BUDGET_MB) {
    throw new ConfigError(
      'STORAGED_MEMORY_BUDGET_MB',
      `${mb} MiB is below the ${MIN_MEMORY_BUDGET_MB} MiB the daemon needs for one transfer of each kind; give at least ${MIN_MEMORY_BUDGET_MB}`,
    );
  }
  return mb * MIB;
}

function readBucketPrefix(env: Env): string {
  const prefix = readString(env, 'STORAGED_BUCKET_PREFIX', '');
  if (prefix !== '' && !BUCKET_PREFIX.test(prefix)) {
    throw new ConfigError('STORAGED_BUCKET_PREFIX', `expected up to 51 characters of a-z, 0-9, '.' and '-', starting with a letter or digit, got '${prefix}'`);
  }
  return prefix;
}

function readNamespace(env: Env): string {
  const namespace = readString(env, 'STORAGED_NAMESPACE', DEFAULT_NAMESPACE);
  if (!NAMESPACE.test(namespace)) {
    throw new ConfigError(
      'STORAGED_NAMESPACE',
      `expected 1-63 characters of a-z, 0-9 and '-', starting with a letter (one key segment), got '${namespace}'`,
    );
  }
  return namespace;
}
