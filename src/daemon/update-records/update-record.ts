// What a photo's acknowledged updates leave in the blob store, so that a lost
// or restored SQLite catalog does not lose them (DESIGN.md "Recoverability").
// The object's identity (object-identity.ts) is written once, at store time,
// and S3 user metadata cannot be rewritten without copying the object nor
// hold more than 2 KB; processing_metadata alone may be 64 KiB. So every
// update of a photo on the SQLite engine rewrites one small JSON object, its
// update record, holding every field a patch may change, in full, as of the
// last acknowledged update: the latest record is the photo's mutable state.
//
// A record lives in its photo's bucket at `<namespace>/records/<yyyy>/<mm>/<id>.json`
// (the month of its photo's key): inside the namespace, so the sweep and the
// check know it as storaged's, and never matching a photo key (object-key.ts),
// so nothing mistakes it for a photo. It names itself (photo id, client,
// catalog, and its photo's key), so rebuild can apply it without a row.

import type { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { ValidationError } from '../../protocol/errors';
import type { Photo } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import { readWhole } from '../blobs/part-returns';
import { parsePatchField, PATCH_FIELDS, type PatchField, type PatchValues } from '../db/metadata-patch';
import { photoIdOfKey } from '../db/object-key';
import { isPlainObject } from '../validation/field-rules';

/** Bumped when the record's meaning changes; a reader refuses versions it does not know. */
export const UPDATE_RECORD_SCHEMA = 1;

/**
 * Largest record read back. The fields' own limits bound a record well below
 * this (64 metadata values of 1024 characters, 64 KiB of processing_metadata,
 * 4096 characters of processing_error, even with every character escaped);
 * a bigger object is not one storaged wrote, and is not read whole.
 */
export const MAX_UPDATE_RECORD_BYTES = 1024 * 1024;

export interface UpdateRecord {
  id: string;
  clientId: string;
  /** The catalog whose daemon wrote it (informative: a rebuilt catalog applies records of the lost one). */
  catalogId: string;
  /** Its photo's object key, in the same bucket: tells the sweep whether the photo still exists. */
  s3Key: string;
  /** The row's updated_at as of this record. */
  updatedAt: string;
  /** Every patchable field, in column form (as parseMetadataPatch gives them). */
  values: PatchValues;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const PHOTO_MONTH = /(?:^|\/)(\d{4})\/(\d{2})\/[0-9a-f-]{36}(?:\.[a-z0-9]{1,10})?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const CATALOG_ID = /^[0-9a-f]{32}$/;
const PHOTO_ID = new RegExp(`^${UUID}$`);
/** A record's key past its namespace's prefix: month and photo id. */
const RECORD_NAME = new RegExp(`^\\d{4}/\\d{2}/(${UUID})\\.json$`);

/** The key prefix every record of a namespace sits under (what a pass over records lists). */
export function recordPrefix(namespace: string): string {
  return `${namespace}/records/`;
}

/** Where the record of the photo stored under `photoKey` goes; null for a key storaged did not make. */
export function recordKeyFor(photoKey: string, namespace: string): string | null {
  const id = photoIdOfKey(photoKey);
  const month = PHOTO_MONTH.exec(photoKey);
  if (id === null || month === null) return null;
  return `${recordPrefix(namespace)}${month[1]}/${month[2]}/${id}.json`;
}

/** Removes the record of the photo stored at bucket/photoKey (gone or never written: no error), as a delete does before its object. */
export async function removeRecordOf(blobs: BlobStore, bucket: string, photoKey: string, namespace: string): Promise<void> {
  const key = recordKeyFor(photoKey, namespace);
  if (key !== null) await blobs.remove(bucket, key);
}

/** The photo id a record key names, or null when the key is not a record of this namespace. */
export function recordOwner(key: string, namespace: string): string | null {
  if (!key.startsWith(recordPrefix(namespace))) return null;
  const match = RECORD_NAME.exec(key.slice(recordPrefix(namespace).length));
  return match?.[1] ?? null;
}

/** The record of a photo as the catalog holds it now. */
export function updateRecordOf(photo: Photo, catalogId: string): UpdateRecord {
  return { id: photo.id, clientId: photo.client_id, catalogId, s3Key: photo.s3_key, updatedAt: photo.updated_at, values: patchOf(photo) };
}

/**
 * A photo's patchable fields in column form, setting every one of them (what
 * a record holds, and what undoes an update). Not run through the patch
 * rules: a row is what it is, and a value stored before today's rules (an
 * adopted filename, say) must not make every update of its photo fail.
 */
export function patchOf(photo: Photo): PatchValues {
  return {
    original_filename: photo.original_filename,
    user_id: photo.user_id,
    session_id: photo.session_id,
    width: photo.width,
    height: photo.height,
    duration: photo.duration,
    processing_status: photo.processing_status,
    processing_metadata: photo.processing_metadata === null ? null : JSON.stringify(photo.processing_metadata),
    processing_error: photo.processing_error,
    processing_started_at: photo.processing_started_at,
    processing_completed_at: photo.processing_completed_at,
    metadata: JSON.stringify(photo.metadata),
  };
}

/** A record's `fields` as encodeRecord writes them: JSON columns as JSON, not as strings inside JSON. */
function recordFieldsOf(values: PatchValues): Record<PatchField, unknown> {
  const fields = {} as Record<PatchField, unknown>;
  for (const field of PATCH_FIELDS) {
    const value = values[field];
    fields[field] = (field === 'metadata' || field === 'processing_metadata') && typeof value === 'string' ? JSON.parse(value) : value ?? null;
  }
  return fields;
}

export function encodeRecord(record: UpdateRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      schema: UPDATE_RECORD_SCHEMA,
      id: record.id,
      clientId: record.clientId,
      catalogId: record.catalogId,
      s3Key: record.s3Key,
      updatedAt: record.updatedAt,
      fields: recordFieldsOf(record.values),
    }),
  );
}

/** A record as read back: `values` holds only the fields today's rules accept. */
export interface DecodedRecord extends UpdateRecord {
  /**
   * Fields today's patch rules refuse, left out of `values` so they are never
   * applied: a value stored before today's rules (an old version's filename,
   * an adopted one), or one planted by whoever else writes to the bucket.
   */
  refused: PatchField[];
  /**
   * Every field as the record holds it, unvalidated (bounded by the record's
   * size): only ever compared with a row (recordAgrees), never applied, never logged.
   */
  held: Record<PatchField, unknown>;
}

/**
 * Reads a record back; null when the bytes are not a record of a known
 * schema: its identity (photo, client, catalog, key, time) must be exactly
 * what storaged writes, and its fields exactly the patchable ones, since a
 * record is read from a store others may write to. Each field is then held
 * to the rule a caller's patch must pass, one by one: a row may hold a value
 * stored before today's rules (patchOf writes it as it is), and one such
 * field must not cost the photo the rest of its last acknowledged update.
 */
export function decodeRecord(bytes: Buffer): DecodedRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!isPlainObject(parsed)) return null;
  const r = parsed;
  if (r['schema'] !== UPDATE_RECORD_SCHEMA) return null;
  const { id, clientId, catalogId, s3Key, updatedAt, fields } = r;
  if (typeof id !== 'string' || !PHOTO_ID.test(id)) return null;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) return null;
  if (typeof catalogId !== 'string' || !CATALOG_ID.test(catalogId)) return null;
  if (typeof s3Key !== 'string' || photoIdOfKey(s3Key) !== id) return null;
  if (typeof updatedAt !== 'string' || !ISO_TIME.test(updatedAt) || Number.isNaN(Date.parse(updatedAt))) return null;
  if (!isPlainObject(fields)) return null;
  const names = Object.keys(fields);
  if (names.length !== PATCH_FIELDS.length || !PATCH_FIELDS.every((field) => Object.hasOwn(fields, field))) return null;
  const values: PatchValues = {};
  const refused: PatchField[] = [];
  const held = {} as Record<PatchField, unknown>;
  for (const field of PATCH_FIELDS) {
    held[field] = fields[field];
    try {
      values[field] = parsePatchField(field, fields[field]);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      refused.push(field);
    }
  }
  return { id, clientId, catalogId, s3Key, updatedAt, values, refused, held };
}

/**
 * Whether a record holds exactly what its photo's row does: every patchable
 * field as the row would write it (the raw values, so a filename stored
 * before today's rules agrees with itself), the time of its last update, its
 * client and its key. What a rebuild would bring back is then the row.
 */
export function recordAgrees(record: DecodedRecord, photo: Photo): boolean {
  return (
    record.id === photo.id &&
    record.clientId === photo.client_id &&
    record.s3Key === photo.s3_key &&
    record.updatedAt === photo.updated_at &&
    isDeepStrictEqual(record.held, recordFieldsOf(patchOf(photo)))
  );
}

/**
 * Reads and decodes the record at bucket/key: null when it does not exist, is
 * too large, or is not a valid record. `listedSize`, the size a listing just
 * gave, saves the look at the object first (a pass over every record, the
 * check's, pays one request per record, not two); the read stays bounded.
 */
export async function readRecord(blobs: BlobStore, bucket: string, key: string, listedSize?: number): Promise<DecodedRecord | null> {
  let size = listedSize;
  if (size === undefined) {
    const info = await blobs.stat(bucket, key);
    if (info === null) return null;
    size = info.size;
  }
  if (size > MAX_UPDATE_RECORD_BYTES) return null;
  let body: Readable;
  try {
    body = await blobs.read(bucket, key, undefined, size);
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return null;
    throw err;
  }
  const bytes = await readWhole(body, MAX_UPDATE_RECORD_BYTES);
  return bytes === null ? null : decodeRecord(bytes);
}
