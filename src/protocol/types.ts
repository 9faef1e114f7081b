// The API shapes both the daemon and its clients speak. Field names follow the
// seed document (snake_case on records) because that is what users expect.

export const PROCESSING_STATUSES = ['queued', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export type ProcessingStatus = (typeof PROCESSING_STATUSES)[number];

export const BUCKETS = ['images', 'images-large', 'videos', 'files'] as const;
export type BucketName = (typeof BUCKETS)[number];

export interface StorePhotoOptions {
  originalName: string;
  contentType?: string;
  clientId: string;
  sessionId?: string;
  userId?: string;
  /** Free-form string metadata kept with the photo. */
  metadata?: Record<string, string>;
  /** Hex sha256 of the body as the caller computed it; a mismatch fails the store. */
  sha256?: string;
  /** Total body size when known in advance (lets the daemon refuse early). */
  size?: number;
  /**
   * Makes the store safe to repeat: a store with a key the daemon has seen
   * from this client (within its window, 24 h by default) is answered with
   * the first store's result instead of storing again; the same key with a
   * different body or options is CONFLICT. 1-255 visible ASCII characters.
   * StorageClient sends a fresh one with every store unless given one.
   */
  idempotencyKey?: string;
}

/** What an idempotency key may be: visible ASCII (it travels as an HTTP header), 1 to 255 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** What storePhoto answers (the seed's PhotoResult). */
export interface PhotoResult {
  id: string;
  s3_key: string;
  /** A presigned GET URL computed at answer time; never stored. */
  s3_url: string;
  bucket: BucketName;
  size: number;
  /** Hex sha256 of the stored bytes. */
  checksum: string;
  processing_status: ProcessingStatus;
  created_at: string;
}

/** A committed photo's metadata. Timestamps are ISO-8601 UTC strings. */
export interface Photo {
  id: string;
  s3_key: string;
  bucket: BucketName;
  size: number;
  checksum: string;
  mime_type: string;
  original_filename: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  client_id: string;
  session_id: string | null;
  user_id: string | null;
  processing_status: ProcessingStatus;
  processing_metadata: unknown;
  processing_error: string | null;
  processing_started_at: string | null;
  processing_completed_at: string | null;
  metadata: Record<string, string>;
  uploaded_at: string;
  created_at: string;
  updated_at: string;
}

/** getPhoto's answer: the metadata plus a URL computed on request. */
export interface PhotoWithUrl extends Photo {
  s3_url: string;
  url_expires_at: string;
}

/** Fields updatePhotoMetadata accepts; anything else is refused. */
export interface PhotoMetadataPatch {
  original_filename?: string;
  user_id?: string | null;
  session_id?: string | null;
  width?: number | null;
  height?: number | null;
  duration?: number | null;
  processing_status?: ProcessingStatus;
  processing_metadata?: unknown;
  processing_error?: string | null;
  processing_started_at?: string | null;
  processing_completed_at?: string | null;
  metadata?: Record<string, string>;
}

export const SORT_FIELDS = ['uploaded_at', 'created_at', 'updated_at', 'size', 'original_filename'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface SearchQuery {
  /** Words matched (full text, prefix) against the filename and MIME type. */
  query?: string;
  filters?: {
    client_id?: string;
    user_id?: string;
    mime_type?: string[];
    processing_status?: ProcessingStatus[];
    date_range?: { start?: string; end?: string };
  };
  sort?: { field: SortField; order: 'asc' | 'desc' };
  limit?: number;
  offset?: number;
  /** Opaque cursor from a previous page's `page.nextCursor`; excludes `offset`. */
  cursor?: string;
}

export interface SearchResult {
  photos: Photo[];
  total: number;
  page: { limit: number; offset: number; hasMore: boolean; nextCursor: string | null };
  searchTime: number;
}

export interface PaginationOptions {
  limit?: number;
  offset?: number;
  cursor?: string;
}

export interface PhotoPage {
  photos: Photo[];
  pagination: { total: number; limit: number; offset: number; hasMore: boolean; nextCursor: string | null };
}

/** Which bytes of a photo to read; both ends inclusive, as in HTTP's Range. */
export interface ByteRangeRequest {
  /** First byte (default 0). At or past the photo's size: RANGE_NOT_SATISFIABLE. */
  start?: number;
  /** Last byte (default: the last one). Past the end is clamped to the last byte. */
  end?: number;
}

/** What a read of a photo's bytes delivers besides the bytes. */
export interface PhotoContentInfo {
  id: string;
  mime_type: string;
  original_filename: string;
  /** Hex sha256 of the whole photo (not of the range). */
  checksum: string;
  /** Size of the whole photo. */
  size: number;
  /** First and last byte delivered (inclusive); `length` = end - start + 1. */
  start: number;
  end: number;
  length: number;
}

/**
 * What the daemon is doing, as the `daemonStats` call answers it (storagectl
 * stats): the same figures /metrics renders, read at call time.
 */
export interface DaemonStats {
  version: string;
  uptimeSeconds: number;
  /** Committed photos and their bytes, per bucket. */
  buckets: { bucket: string; photos: number; bytes: number }[];
  /** The SQLite writer: transactions (one per batch), writes settled, largest and mean batch, ops waiting for the next batch. */
  writer: { transactions: number; writes: number; failedWrites: number; largestBatch: number; meanBatch: number; queueDepth: number };
  /** The worker pool: share busy since start (0-1), threads, tasks waiting. */
  workers: { utilization: number; threads: number; queueDepth: number };
  /** Event-loop delay in ms since the previous /metrics scrape (since start when nothing scrapes). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Open connections on the socket and on the HTTP listener. */
  connections: { socket: number; http: number };
}
