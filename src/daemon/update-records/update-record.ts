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
import type { Photo } from '../../protocol/types';
import type { BlobStore } from '../blobs/blob-store';
import { parseMetadataPatch, PATCH_FIELDS, type PatchValues } from '../db/metadata-patch';
import { photoIdOfKey } from '../db/object-key';

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
  const match = new RegExp(`^\\d{4}/\\d{2}/(${UUID})\\.json$`).exec(key.slice(recordPrefix(namespace).length));
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

export function encodeRecord(record: UpdateRecord): Buffer {
  const fields: Record<string, unknown> = {};
  // Column form back to the API's: JSON columns travel as JSON, not as strings inside JSON.
  for (const field of PATCH_FIELDS) {
    const value = record.values[field];
    fields[field] = (field === 'metadata' || field === 'processing_metadata') && typeof value === 'string' ? JSON.parse(value) : value ?? null;
  }
  return Buffer.from(
    JSON.stringify({
      schema: UPDATE_RECORD_SCHEMA,
      id: record.id,
      clientId: record.clientId,
      catalogId: record.catalogId,
      s3Key: record.s3Key,
      updatedAt: record.updatedAt,
      fields,
    }),
  );
}

/**
 * Reads a record back; null when the bytes are not a record of a known
 * schema, or any field fails the rules a caller's patch must pass (a record
 * is read from a store others may write to: it is held to the same rules;
 * one holding a value stored before today's rules is reported, not applied).
 */
export function decodeRecord(bytes: Buffer): UpdateRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const r = parsed as Record<string, unknown>;
  if (r['schema'] !== UPDATE_RECORD_SCHEMA) return null;
  const { id, clientId, catalogId, s3Key, updatedAt, fields } = r;
  if (typeof id !== 'string' || !new RegExp(`^${UUID}$`).test(id)) return null;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) return null;
  if (typeof catalogId !== 'string' || !CATALOG_ID.test(catalogId)) return null;
  if (typeof s3Key !== 'string' || photoIdOfKey(s3Key) !== id) return null;
  if (typeof updatedAt !== 'string' || !ISO_TIME.test(updatedAt) || Number.isNaN(Date.parse(updatedAt))) return null;
  if (typeof fields !== 'object' || fields === null) return null;
  for (const field of PATCH_FIELDS) if (!(field in fields)) return null;
  try {
    return { id, clientId, catalogId, s3Key, updatedAt, values: parseMetadataPatch(fields) };
  } catch {
    return null;
  }
}

/** Reads and decodes the record at bucket/key: null when it does not exist, is too large, or is not a valid record. */
export async function readRecord(blobs: BlobStore, bucket: string, key: string): Promise<UpdateRecord | null> {
  const info = await blobs.stat(bucket, key);
  if (info === null || info.size > MAX_UPDATE_RECORD_BYTES) return null;
  let body: Readable;
  try {
    body = await blobs.read(bucket, key, undefined, info.size);
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return null;
    throw err;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_UPDATE_RECORD_BYTES) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return decodeRecord(Buffer.concat(chunks));
}
