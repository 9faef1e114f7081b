// Backups on an interval (BACKUP_INTERVAL) while the daemon serves. A failed
// backup is logged, counted in /metrics and shown in /ready's details; it
// never stops the daemon, and the next interval tries again.

import type { Logger } from '../logger';
import { MetricRegistry } from '../metrics/metric-registry';
import { takeBackup, type BackupManifest, type BackupTarget, type Snapshotter } from './catalog-backups';

export interface BackupStatus {
  intervalSeconds: number;
  lastSuccess: { name: string; at: string; size: number; durationMs: number } | null;
  lastFailure: { at: string; error: string } | null;
}

export interface BackupSettings {
  sqlitePath: string;
  tempDir: string;
  keep: number;
  intervalMs: number;
  snapshot: Snapshotter;
}

export class BackupScheduler extends MetricRegistry {
  readonly #runs = this.counter('storaged_backups_total', 'Catalog backups taken, by result', ['result']);
  readonly #status: BackupStatus;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<BackupManifest> | null = null;

  constructor(
    private readonly target: BackupTarget,
    private readonly settings: BackupSettings,
    private readonly logger: Logger,
  ) {
    super();
    this.#status = { intervalSeconds: settings.intervalMs / 1000, lastSuccess: null, lastFailure: null };
    // Both series from the start, so an alert on failures sees 0 before the first one.
    this.#runs.inc({ result: 'ok' }, 0);
    this.#runs.inc({ result: 'failed' }, 0);
  }

  start(): void {
    if (this.settings.intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.runNow().catch(() => undefined), this.settings.intervalMs);
    this.#timer.unref();
  }

  /** Takes a backup now, or joins the one in progress. Failures are logged and counted, then rethrown to the caller. */
  runNow(): Promise<BackupManifest> {
    this.#running ??= this.#take().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #take(): Promise<BackupManifest> {
    const started = performance.now();
    try {
      const manifest = await takeBackup(this.target, this.settings);
      const durationMs = Math.round(performance.now() - started);
      this.#runs.inc({ result: 'ok' });
      this.#status.lastSuccess = { name: manifest.name, at: manifest.createdAt, size: manifest.size, durationMs };
      this.logger.info({ backup: manifest.name, bytes: manifest.size, durationMs }, 'catalog backup taken');
      return manifest;
    } catch (err) {
      this.#runs.inc({ result: 'failed' });
      this.#status.lastFailure = { at: new Date().toISOString(), error: err instanceof Error ? err.message : String(err) };
      this.logger.error({ err }, 'catalog backup failed; the daemon carries on and tries again at the next interval');
      throw err;
    }
  }

  status(): BackupStatus {
    return structuredClone(this.#status);
  }

  override render(): string {
    const last = this.#status.lastSuccess;
    const at = last === null ? 0 : Date.parse(last.at) / 1000;
    return `${super.render()}# HELP storaged_backup_last_success_timestamp_seconds When the newest good backup was taken (0: none yet)\n# TYPE storaged_backup_last_success_timestamp_seconds gauge\nstoraged_backup_last_success_timestamp_seconds ${at}\n`;
  }

  /** Stops the interval and waits for a backup in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
