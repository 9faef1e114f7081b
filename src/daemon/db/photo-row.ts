// The photos row as SQLite returns it, and its mapping to the API's Photo.

import type { BucketName, Photo, ProcessingStatus } from '../../protocol/types';

/** What insertPending writes; the rest of a row gets defaults. */
export interface NewPhotoRow {
  id: string;
  client_id: string;
  user_id: string | null;
  session_id: string | null;
  original_filename: string;
  mime_type: string;
  bucket: string;
  s3_key: string;
  size: number;
  /** Hex sha256 of the bytes. */
  checksum: string;
  metadata: Record<string, string>;
  /** When the store began (the object's identity carries the same); defaults to the insert's time. */
  uploaded_at?: string;
  /** The store's idempotency key, recorded with the commit (idempotency-keys.ts). */
  idempotency_key?: string | null;
}

export type RowState = 'pending' | 'committed' | 'deleting';

/** A row as SQLite returns it: NewPhotoRow's columns (metadata still JSON text) and the rest. */
export interface PhotoRecord extends Omit<NewPhotoRow, 'metadata'> {
  width: number | null;
  height: number | null;
  duration: number | null;
  processing_status: string;
  processing_metadata: string | null;
  processing_error: string | null;
  processing_started_at: string | null;
  processing_completed_at: string | null;
  metadata: string;
  uploaded_at: string;
  created_at: string;
  updated_at: string;
}

const PHOTO_COLUMN_NAMES = [
  'id',
  'client_id',
  'user_id',
  'session_id',
  'original_filename',
  'mime_type',
  'bucket',
  's3_key',
  'size',
  'checksum',
  'width',
  'height',
  'duration',
  'processing_status',
  'processing_metadata',
  'processing_error',
  'processing_started_at',
  'processing_completed_at',
  'metadata',
  'uploaded_at',
  'created_at',
  'updated_at',
];

/** The columns a Photo is built from, qualified by the `p` alias every SELECT uses. */
export const PHOTO_COLUMNS = PHOTO_COLUMN_NAMES.map((column) => `p.${column}`).join(', ');
/** The same, unqualified, for RETURNING clauses (which cannot use an alias). */
export const PHOTO_RETURNING = PHOTO_COLUMN_NAMES.join(', ');

/**
 * A row of PHOTO_COLUMNS read in raw mode (an array, in their order) as the
 * record object mode would give. better-sqlite3 builds each row object
 * through V8's object API, ~4 µs for these 22 columns; this literal takes
 * a fraction of that, which was a fifth of a 50-photo search page at
 * 1,000,000 rows (2026-12-04). test/db/photo-row.test.ts holds it to object
 * mode's rows.
 */
export function recordOf(row: unknown[]): PhotoRecord {
  return {
    id: row[0] as string,
    client_id: row[1] as string,
    user_id: row[2] as string | null,
    session_id: row[3] as string | null,
    original_filename: row[4] as string,
    mime_type: row[5] as string,
    bucket: row[6] as string,
    s3_key: row[7] as string,
    size: row[8] as number,
    checksum: row[9] as string,
    width: row[10] as number | null,
    height: row[11] as number | null,
    duration: row[12] as number | null,
    processing_status: row[13] as string,
    processing_metadata: row[14] as string | null,
    processing_error: row[15] as string | null,
    processing_started_at: row[16] as string | null,
    processing_completed_at: row[17] as string | null,
    metadata: row[18] as string,
    uploaded_at: row[19] as string,
    created_at: row[20] as string,
    updated_at: row[21] as string,
  };
}

export function toPhoto(record: PhotoRecord): Photo {
  return {
    id: record.id,
    s3_key: record.s3_key,
    bucket: record.bucket as BucketName,
    size: record.size,
    checksum: record.checksum,
    mime_type: record.mime_type,
    original_filename: record.original_filename,
    width: record.width,
    height: record.height,
    duration: record.duration,
    client_id: record.client_id,
    session_id: record.session_id,
    user_id: record.user_id,
    processing_status: record.processing_status as ProcessingStatus,
    processing_metadata: record.processing_metadata === null ? null : JSON.parse(record.processing_metadata),
    processing_error: record.processing_error,
    processing_started_at: record.processing_started_at,
    processing_completed_at: record.processing_completed_at,
    metadata: JSON.parse(record.metadata) as Record<string, string>,
    uploaded_at: record.uploaded_at,
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}
