// Assembles the daemon: catalog (SQLite, or PostgreSQL shared by many hosts), blob store (local dir or MinIO),
// coordinator, recovery, HTTP listener and the Unix socket server.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlobStore } from './blobs/blob-store';
import { configuredBlobStore } from './blobs/configured-blob-store';
import { createSignedBlobHandler } from './blobs/signed-blob-handler';
import type { DaemonConfig } from './config/daemon-config';
import { StorageCoordinator } from './coordinator/storage-coordinator';
import { Catalog } from './db/catalog';
import type { PhotoCatalog } from './db/photo-catalog';
import { PostgresCatalog } from './catalog-pg/pg-catalog';
import { HttpServer, type RouteHandler } from './http/http-server';
import { Gateway } from './gateway/gateway';
import { clearStaleSnapshots } from './backup/catalog-backups';
import { clearStaleSpool } from './intake/receive-body';
import type { Logger } from './logger';
import { recover, type RecoveryReport } from './recovery/recovery';
import { SocketServer } from './socket/socket-server';
import type { SocketAuth } from './socket/hello-check';
import { CallAdmission } from './admission/call-admission';
import { AdmissionMetrics } from './admission/admission-metrics';
import { AuthFailures } from './admission/auth-failures';
import { BUCKETS } from '../protocol/types';
import type { Piscina } from 'piscina';
import { createWorkerPool } from './workers/worker-pool';
import { GrowingFileHash } from './workers/hash-task';
import { RuntimeMetrics } from './metrics/runtime-metrics';
import { DaemonStatsSource } from './metrics/daemon-stats';
import { budgetedSizes, MemoryBudget } from './memory/memory-budget';
import { countSparePartsIn } from './blobs/read-in-parts';
import { countSpareFramesIn } from './memory/upload-frames';
import { walCheckpointIn } from './workers/checkpoint-task';
import { largestBodyLimit } from './validation/body-limits';
import { BACKUP_BUCKET } from './backup/catalog-backups';
import { BackupScheduler } from './backup/backup-scheduler';
import { UpdateRecords } from './update-records/update-records';
import { CatalogLock } from './db/catalog-lock';

export const STORAGED_VERSION: string = require('../../../package.json').version;

export class Daemon {
  #recoveryTimer: NodeJS.Timeout | null = null;
  #recoveryRunning: Promise<unknown> | null = null;
  /** When the last pass that listed whole buckets began; 0 = none yet (the first pass after start is one). */
  #lastFullSweep = 0;
  /** Stops a pass in progress when the daemon closes, so shutdown never waits for a long listing. */
  readonly #stopping = new AbortController();
  #closed = false;
  /** Ends the slot pools' counting in this daemon's memory budget (and their idle timers). */
  #stopCountingSpares: Array<() => void> = [];
  /** The SQLite engine's update records; null on PostgreSQL. */
  #updateRecords: UpdateRecords | null = null;
  /** Held while the daemon runs on a SQLite catalog (catalog-lock.ts); null on PostgreSQL. */
  #catalogLock: CatalogLock | null = null;

  private constructor(
    readonly config: DaemonConfig,
    readonly catalog: PhotoCatalog,
    readonly blobs: BlobStore,
    readonly coordinator: StorageCoordinator,
    readonly http: HttpServer | null,
    readonly httpUrl: string | null,
    readonly socket: SocketServer,
    readonly pool: Piscina,
    readonly backups: BackupScheduler,
    private readonly logger: Logger,
  ) {}

  static async start(config: DaemonConfig, logger: Logger): Promise<Daemon> {
    const startedAt = performance.now();
    await fs.promises.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await fs.promises.mkdir(path.dirname(config.sqlitePath), { recursive: true, mode: 0o700 });
    // The SQLite catalog is this process's until it exits (catalog-lock.ts), taken before the spool is
    // cleared: a second daemon on the same files would clear the first one's stores in progress.
    const catalogLock = config.postgres === null ? CatalogLock.take(config.sqlitePath, 'starting a daemon on it') : null;
    let pool: Piscina;
    try {
      const staleSpool = await clearStaleSpool(config.spoolDir);
      if (staleSpool > 0) logger.info({ removed: staleSpool }, 'removed spool files left by an earlier run');
      const staleSnapshots = await clearStaleSnapshots(config.spoolDir);
      if (staleSnapshots > 0) logger.info({ removed: staleSnapshots }, 'removed catalog snapshots left by backups that were killed');
      pool = createWorkerPool(config.workerThreads, config.workerNice);
    } catch (err) {
      catalogLock?.release();
      throw err;
    }
    let catalog: PhotoCatalog;
    try {
      catalog =
        config.postgres === null
          ? Catalog.open({
              path: config.sqlitePath,
              logger,
              checkpoint: walCheckpointIn(pool),
              idempotencyWindowMs: config.idempotencyWindowMs,
              // Each waiting search holds one of the daemon's call slots, so no more can wait than run.
              searchThreads: { ...config.search, maxWaiting: config.admission.calls.maxCalls, nice: config.workerNice },
            })
          : await PostgresCatalog.open({
              url: config.postgres.url,
              poolSize: config.postgres.poolSize,
              timeoutMs: config.postgres.timeoutMs,
              searchTimeoutMs: config.search.timeoutMs,
              nodeId: config.nodeId,
              idempotencyWindowMs: config.idempotencyWindowMs,
              logger,
            });
    } catch (err) {
      await pool.close();
      catalogLock?.release();
      throw err;
    }
    // Run in reverse: the lock goes last, once nothing of this process uses the catalog.
    const cleanups: Array<() => Promise<unknown> | unknown> = [() => catalogLock?.release(), () => pool.close(), () => catalog.close()];
    try {
      const handlers: RouteHandler[] = [];
      let http: HttpServer | null = null;
      let httpUrl: string | null = null;
      // The local backend needs the HTTP listener to serve its signed URLs, so it runs even with the gateway off.
      if (config.http.enabled || config.minio === null) {
        http = new HttpServer(handlers, logger, config.admission.httpConnections);
        const address = await http.listen(config.http.host, config.http.port);
        cleanups.push(() => http!.close());
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        httpUrl = `http://${host}:${address.port}`;
      }

      // One budget for every transfer through either door; the sizes of the pools and windows follow from it.
      const memoryBudget = new MemoryBudget(config.memoryBudgetBytes);
      const sizes = budgetedSizes(config.memoryBudgetBytes, {
        spoolThresholdBytes: config.spoolThresholdBytes,
        partConcurrency: config.multipart.concurrency,
      });
      // The pools' spare slots count in the budget too, so shares and spares together stay within it.
      // Frames first: the budget drops spares in this order, and a frame (256 KiB, never seen by a worker) is the cheapest to lose.
      const stopCountingSpares = [countSpareFramesIn(memoryBudget, sizes.spareFrameBytes), countSparePartsIn(memoryBudget, sizes.sparePartBytes)];
      cleanups.push(...stopCountingSpares);
      const store = configuredBlobStore(config, logger, config.http.publicUrl ?? httpUrl!, pool, {
        budget: memoryBudget,
        readAhead: sizes.readAhead,
        partConcurrency: sizes.partConcurrency,
      });
      if (store.kind === 'fs') handlers.push(createSignedBlobHandler(store.fsStore, store.signer, logger));
      const blobs = store.blobs;
      await blobs.ensureBuckets([...BUCKETS, BACKUP_BUCKET]);
      const backups = new BackupScheduler(
        { blobs, namespace: config.namespace },
        {
          sqlitePath: config.sqlitePath,
          tempDir: config.spoolDir,
          keep: config.backup.keep,
          // Backups copy the SQLite file; a PostgreSQL catalog is backed up the way its operators back up PostgreSQL.
          intervalMs: config.postgres === null ? config.backup.intervalMs : 0,
          // Off the event loop: VACUUM INTO copies the whole file.
          snapshot: (source, target) => pool.run({ source, target }, { name: 'snapshotDatabase' }),
        },
        logger,
      );
      cleanups.push(() => backups.stop());

      // PostgreSQL is a durable, replicated store of its own: its updates need no second copy.
      const updateRecords = catalog instanceof Catalog ? new UpdateRecords(catalog, blobs, config.namespace, logger) : null;
      const coordinator = new StorageCoordinator(
        catalog,
        blobs,
        {
          maxBodyBytes: config.maxBodyBytes,
          bodyLimits: config.bodyLimits,
          allowedTypes: config.allowedTypes,
          spoolDir: config.spoolDir,
          spoolThresholdBytes: sizes.spoolThresholdBytes,
          memoryBudget,
          hashSpool: (file) => new GrowingFileHash(pool, file),
          namespace: config.namespace,
          updateRecords,
        },
        logger,
      );
      // Rows left `pending` by a previous process need no timeout now: nothing of ours is in flight yet.
      // On a shared catalog that holds for this node's rows only; other daemons' wait for the timeout.
      // (A pass handles up to 500 rows of each kind; the periodic passes take the rest.) Listing the
      // buckets for orphans waits until the socket is open: it may take long on a large store.
      const startTiming =
        config.postgres === null
          ? { pendingTimeoutMs: 0 }
          : { pendingTimeoutMs: config.recovery.pendingTimeoutMs, ownPendingTimeoutMs: 0 };
      await recover(catalog, blobs, { ...startTiming, orphanGraceMs: config.recovery.orphanGraceMs, namespace: config.namespace, sweep: 'none' }, logger);

      // One set of slots for both doors: the limit is the daemon's, whichever way calls come in.
      const admission = new CallAdmission(config.admission.calls);
      // Wrong tokens, per remote address on the gateway and per Unix user on the socket (auth-failures.ts).
      const { authFailureRate, socketAuthFailureRate } = config.admission;
      const httpAuthFailures = authFailureRate && new AuthFailures(authFailureRate);
      const socketAuthFailures = socketAuthFailureRate && new AuthFailures(socketAuthFailureRate);
      const socket = new SocketServer({
        authFailures: socketAuthFailures,
        maxConnections: config.admission.socketConnections,
        admission,
        path: config.socketPath,
        coordinator,
        logger,
        // The socket caps every body at the largest limit; the coordinator applies each type's own.
        maxBodyBytes: largestBodyLimit(config.bodyLimits),
        version: STORAGED_VERSION,
        auth: socketAuthOf(config),
      });
      if (config.socketAuth === 'trusted') {
        logger.warn(
          { socket: config.socketPath },
          'socket callers are trusted: any process that may open the socket can act as any client; configure tokens (STORAGED_TOKENS_FILE) to authenticate them',
        );
      }
      if (config.socketAuth === 'peercred') {
        logger.info(
          { socket: config.socketPath, users: config.socketUsers!.size, tokens: config.gatewayTokens.size > 0 },
          'socket callers are identified by their Unix user (STORAGED_SOCKET_USERS)',
        );
      }
      await socket.listen();

      // One set of figures for /metrics and the socket's daemonStats call (storagectl stats).
      const runtime = new RuntimeMetrics(pool, memoryBudget);
      cleanups.push(() => runtime.stop());
      const searchThreads = catalog instanceof Catalog ? catalog.searchThreads : null;
      const stats = new DaemonStatsSource({
        version: STORAGED_VERSION,
        catalog,
        runtime,
        socketConnections: () => socket.stats().connections,
        httpConnections: () => http?.openConnections ?? 0,
        startedAt,
        ...(searchThreads !== null && { searchThreads: () => searchThreads.stats() }),
        searchesTimedOut: () => catalog.searchesTimedOut,
      });
      coordinator.statsSource = () => stats.snapshot();

      // Mounted only now: recovery above assumes no store of ours is in flight.
      if (config.http.enabled) {
        const gateway = new Gateway({
          coordinator,
          tokens: config.gatewayTokens,
          readiness: {
            [catalog.engine]: () => catalog.ping(),
            blobs: () => blobs.ping(),
            // A shared catalog's node id held by this daemon (catalog-pg/node-lock.ts): not, while another daemon runs under it.
            ...(catalog instanceof PostgresCatalog && { nodeId: () => catalog.checkNodeId() }),
          },
          readinessDetails: () => ({ backup: backups.status() }),
          registries: [
            coordinator.metrics.registry,
            runtime,
            stats,
            backups,
            new AdmissionMetrics(admission, {
              socket: () => socket.stats(),
              http: http ? () => http!.connectionStats() : null,
              httpAuth: () => httpAuthFailures?.stats() ?? null,
            }),
          ],
          logger,
          memoryBudget,
          bodyIdleTimeoutMs: config.http.bodyIdleTimeoutMs,
          admission,
          rate: config.admission.gatewayRate,
          authFailures: httpAuthFailures,
          trustedProxies: config.http.trustedProxies,
        });
        handlers.push(gateway.handle);
        if (config.http.trustedProxies !== null) {
          logger.info(
            { trustedProxies: config.http.trustedProxies.entries },
            'the gateway takes the caller\'s address from X-Forwarded-For when the peer is one of these proxies (STORAGED_TRUSTED_PROXIES)',
          );
        }
      }

      const daemon = new Daemon(config, catalog, blobs, coordinator, http, httpUrl, socket, pool, backups, logger);
      daemon.#updateRecords = updateRecords;
      daemon.#stopCountingSpares = stopCountingSpares;
      daemon.#catalogLock = catalogLock;
      backups.start();
      daemon.#runRecovery();
      daemon.#scheduleRecovery();
      logger.info(
        {
          socket: config.socketPath,
          http: httpUrl,
          blobs: blobs.kind,
          catalog: config.postgres === null ? { sqlite: config.sqlitePath } : { postgres: true, node: config.nodeId },
          memoryBudgetMb: config.memoryBudgetBytes / (1024 * 1024),
          version: STORAGED_VERSION,
        },
        'storaged ready',
      );
      return daemon;
    } catch (err) {
      for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
      throw err;
    }
  }

  /**
   * One recovery pass now (also what the periodic timer runs). It lists whole
   * buckets on the first pass and then once per STORAGED_FULL_SWEEP_INTERVAL_S,
   * otherwise only the recent dated prefixes, unless `sweep` says otherwise.
   */
  async recoverNow(sweep?: 'full' | 'recent'): Promise<RecoveryReport> {
    const started = Date.now();
    // Records a failed write left owing: written from their rows before the sweep looks at records.
    await this.#updateRecords?.settleOwed();
    const full = sweep === 'full' || (sweep === undefined && started - this.#lastFullSweep >= this.config.recovery.fullSweepIntervalMs);
    const report = await recover(
      this.catalog,
      this.blobs,
      {
        pendingTimeoutMs: this.config.recovery.pendingTimeoutMs,
        orphanGraceMs: this.config.recovery.orphanGraceMs,
        isInFlight: (id) => this.coordinator.isStoreInFlight(id),
        namespace: this.config.namespace,
        sweep: full ? 'full' : 'recent',
        signal: this.#stopping.signal,
      },
      this.logger,
    );
    if (full && !this.#stopping.signal.aborted) this.#lastFullSweep = started;
    return report;
  }

  #runRecovery(): void {
    if (this.#recoveryRunning) return;
    this.#recoveryRunning = this.recoverNow()
      .catch((err) => this.logger.warn({ err }, 'recovery pass failed; will retry'))
      .finally(() => {
        this.#recoveryRunning = null;
      });
  }

  #scheduleRecovery(): void {
    this.#recoveryTimer = setInterval(() => this.#runRecovery(), this.config.recovery.intervalMs);
    this.#recoveryTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#recoveryTimer) clearInterval(this.#recoveryTimer);
    this.#stopping.abort();
    await this.socket.close();
    await this.http?.close();
    await this.#recoveryRunning;
    await this.backups.stop();
    await this.catalog.close();
    // Threads exiting close their connections; the last one out checkpoints and removes the WAL.
    await this.pool.close();
    // The slot pools are the process's: they stop counting in this budget, and their idle timers stop.
    for (const stop of this.#stopCountingSpares) stop();
    this.#catalogLock?.release();
    this.logger.info('storaged stopped');
  }
}

/** The socket's rule for who a caller is, from the settings read at start. */
function socketAuthOf(config: DaemonConfig): SocketAuth {
  if (config.socketAuth === 'token') {
    // Not needed to authenticate, but with it a token guesser spends only its own Unix user's allowance.
    return config.readPeer === null ? { mode: 'token', tokens: config.gatewayTokens } : { mode: 'token', tokens: config.gatewayTokens, read: config.readPeer };
  }
  if (config.socketAuth === 'peercred') return { mode: 'peercred', tokens: config.gatewayTokens, users: config.socketUsers!, read: config.readPeer! };
  return { mode: 'trusted' };
}
