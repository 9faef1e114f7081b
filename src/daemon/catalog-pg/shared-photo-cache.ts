// The getPhoto cache of a daemon whose catalog other daemons write too. Every
// write that changes or hides a committed photo sends NOTIFY with its id in
// the same transaction (PostgreSQL delivers it at COMMIT, and not at all on
// ROLLBACK); each daemon LISTENs on a connection of its own and evicts the id.
//
// What keeps it coherent:
// - an entry is used only while the LISTEN connection is up; when it drops,
//   notifications may have been missed, so the cache is emptied and stays off
//   until the connection is back and listening again;
// - a read that was in flight while any eviction happened is not cached (it
//   may carry the version the eviction was about), so a slow read never puts
//   back what a notification took out;
// - this daemon's own writes evict at once, before their COMMIT, as well as
//   when their notification comes back.
// What it does not promise: another daemon's change reaches this cache when
// its notification arrives (after the COMMIT, typically within milliseconds);
// a read through this daemon in between still sees the previous version.

import type { ClientConfig } from 'pg';
import type { Photo } from '../../protocol/types';
import type { Logger } from '../logger';
import { PhotoCache } from '../db/photo-cache';
import { KeptSession } from './kept-session';

/** The channel every storaged daemon of a catalog listens on; payload: a photo id. */
export const PHOTO_CHANNEL = 'storaged_photo_changed';

/** The cache is merely off while the listener is down, so retrying gently costs less than the node lock's 2 s (kept-session.ts). */
const RECONNECT_MAX_MS = 10_000;

export class SharedPhotoCache {
  readonly #cache: PhotoCache;
  readonly #capacity: number;
  readonly #listener: KeptSession;
  #listening = false;
  /** Bumped by every eviction: a read that saw it change while in flight is not cached. */
  #evictions = 0;

  constructor(capacity: number, config: ClientConfig, logger: Logger) {
    this.#cache = new PhotoCache(capacity);
    this.#capacity = capacity;
    this.#listener = new KeptSession({
      config,
      name: 'storaged photo cache',
      maxRetryMs: RECONNECT_MAX_MS,
      logger,
      ready: async (client) => {
        client.on('notification', (message) => {
          if (message.channel === PHOTO_CHANNEL && message.payload !== undefined) this.evict(message.payload);
        });
        await client.query(`LISTEN ${PHOTO_CHANNEL}`);
        if (!this.#listener.current(client)) return;
        // Whatever changed while nobody listened is unknown: start from empty.
        this.#cache.clear();
        this.#evictions++;
        this.#listening = true;
      },
      lost: (err, retryInMs) => {
        this.#stop();
        logger.warn({ err: err && { message: err.message }, retryInMs }, 'photo cache off: lost the catalog notification connection');
      },
    });
  }

  /** Connects the listener; resolves once it listens (or failed: the cache then starts off and keeps trying). */
  async start(): Promise<void> {
    if (this.#capacity === 0) return;
    await this.#listener.startOrRetry();
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** The cached photo, only while notifications are being received. */
  get(id: string): Photo | undefined {
    return this.#listening ? this.#cache.get(id) : undefined;
  }

  /** A token to give back to `set`: the eviction count when the read began. */
  readStarted(): number {
    return this.#evictions;
  }

  /** `bytes`: what the photo is charged in the byte-bounded cache (db/photo-bytes.ts heapBytes). */
  set(photo: Photo, readStartedAt: number, bytes = 0): void {
    if (this.#listening && readStartedAt === this.#evictions) this.#cache.set(photo, bytes);
  }

  evict(id: string): void {
    this.#evictions++;
    this.#cache.evict(id);
  }

  async close(): Promise<void> {
    this.#stop();
    await this.#listener.close();
  }

  #stop(): void {
    this.#listening = false;
    this.#evictions++;
    this.#cache.clear();
  }
}
