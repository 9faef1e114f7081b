// A Coordinator that keeps photos in memory, for testing the socket door
// without SQLite or MinIO. It records every call so tests can check what the
// server handed over; tests replace single methods to script failures.

import { createHash } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../src/protocol/errors';
import { Readable } from 'node:stream';
import { contentInfo, resolveRange } from '../../src/daemon/coordinator/byte-range';
import type { CallContext, Coordinator, PhotoContent } from '../../src/daemon/coordinator/coordinator';
import type { Photo, PhotoPage, PhotoResult, PhotoWithUrl, SearchResult } from '../../src/protocol/types';

export interface RecordedCall {
  op: string;
  clientId: string;
  args: unknown[];
  signal: AbortSignal;
}

export interface StoredPhoto {
  photo: Photo;
  bytes: Buffer;
}

export class MemoryCoordinator implements Coordinator {
  readonly calls: RecordedCall[] = [];
  readonly photos = new Map<string, StoredPhoto>();
  #next = 1;

  #record(op: string, ctx: CallContext, ...args: unknown[]): void {
    this.calls.push({ op, clientId: ctx.clientId, args, signal: ctx.signal });
  }

  #owned(ctx: CallContext, id: unknown): StoredPhoto {
    const stored = typeof id === 'string' ? this.photos.get(id) : undefined;
    if (!stored || stored.photo.client_id !== ctx.clientId) throw new NotFoundError(`photo ${String(id)} not found`);
    return stored;
  }

  async storePhoto(ctx: CallContext, options: unknown, body: AsyncIterable<Uint8Array>): Promise<PhotoResult> {
    this.#record('storePhoto', ctx, options);
    const opts = options as { originalName?: string; userId?: string; size?: number };
    if (typeof opts?.originalName !== 'string') throw new ValidationError('originalName is required');
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(Buffer.from(chunk));
    const bytes = Buffer.concat(parts);
    if (opts.size !== undefined && opts.size !== bytes.length) throw new ValidationError('size mismatch');
    const id = `p${this.#next++}`;
    const now = new Date().toISOString();
    const checksum = createHash('sha256').update(bytes).digest('hex');
    const photo: Photo = {
      id,
      s3_key: `k/${id}`,
      bucket: 'images',
      size: bytes.length,
      checksum,
      mime_type: 'image/png',
      original_filename: opts.originalName,
      width: null,
      height: null,
      duration: null,
      client_id: ctx.clientId,
      session_id: null,
      user_id: opts.userId ?? null,
      processing_status: 'queued',
      processing_metadata: null,
      processing_error: null,
      processing_started_at: null,
      processing_completed_at: null,
      metadata: {},
      uploaded_at: now,
      created_at: now,
      updated_at: now,
    };
    this.photos.set(id, { photo, bytes });
    return {
      id,
      s3_key: photo.s3_key,
      s3_url: `http://blobs/${id}`,
      bucket: 'images',
      size: bytes.length,
      checksum,
      processing_status: 'queued',
      created_at: now,
    };
  }

  async getPhoto(ctx: CallContext, id: unknown): Promise<PhotoWithUrl> {
    this.#record('getPhoto', ctx, id);
    const { photo } = this.#owned(ctx, id);
    return { ...photo, s3_url: `http://blobs/${photo.id}`, url_expires_at: new Date(Date.now() + 3600_000).toISOString() };
  }

  async readPhoto(ctx: CallContext, id: unknown, range: unknown): Promise<PhotoContent> {
    this.#record('readPhoto', ctx, id, range);
    const { photo, bytes } = this.#owned(ctx, id);
    const { start, end } = resolveRange(range, bytes.length);
    const info = contentInfo(photo, { start, end });
    return { info, body: Readable.from([bytes.subarray(start, end + 1)]) };
  }

  async getPhotoUrl(ctx: CallContext, id: unknown, expirySeconds: unknown): Promise<string> {
    this.#record('getPhotoUrl', ctx, id, expirySeconds);
    const { photo } = this.#owned(ctx, id);
    return `http://blobs/${photo.id}?expires=${String(expirySeconds ?? 3600)}`;
  }

  async updatePhotoMetadata(ctx: CallContext, id: unknown, patch: unknown): Promise<Photo> {
    this.#record('updatePhotoMetadata', ctx, id, patch);
    const stored = this.#owned(ctx, id);
    stored.photo = { ...stored.photo, ...(patch as Partial<Photo>) };
    return stored.photo;
  }

  async deletePhoto(ctx: CallContext, id: unknown): Promise<void> {
    this.#record('deletePhoto', ctx, id);
    this.#owned(ctx, id);
    this.photos.delete(id as string);
  }

  async searchPhotos(ctx: CallContext, query: unknown): Promise<SearchResult> {
    this.#record('searchPhotos', ctx, query);
    const words = String((query as { query?: string })?.query ?? '');
    const photos = [...this.photos.values()]
      .map((s) => s.photo)
      .filter((p) => p.client_id === ctx.clientId && p.original_filename.includes(words));
    return { photos, total: photos.length, page: { limit: 50, offset: 0, hasMore: false, nextCursor: null }, searchTime: 0 };
  }

  async getUserPhotos(ctx: CallContext, userId: unknown, options: unknown): Promise<PhotoPage> {
    this.#record('getUserPhotos', ctx, userId, options);
    const photos = [...this.photos.values()]
      .map((s) => s.photo)
      .filter((p) => p.client_id === ctx.clientId && p.user_id === userId);
    return { photos, pagination: { total: photos.length, limit: 50, offset: 0, hasMore: false, nextCursor: null } };
  }
}
