// updatePhotoMetadata's patch: validated field by field against a whitelist,
// and turned into an UPDATE whose column names come only from this file.

import { ValidationError } from '../../protocol/errors';
import { PROCESSING_STATUSES, type PhotoMetadataPatch, type ProcessingStatus } from '../../protocol/types';
import { filename, idString, isoTimestamp, isPlainObject, nonNegativeInteger, refuseUnknownKeys, stringRecord } from '../validation/field-rules';
import { PHOTO_RETURNING } from './photo-row';

export const MAX_PROCESSING_METADATA_BYTES = 64 * 1024;
export const MAX_PROCESSING_ERROR_CHARS = 4096;

export type PatchField = keyof PhotoMetadataPatch;

/** The only SQL a patch can contribute, one fixed fragment per accepted field. */
const SET_FRAGMENTS: Record<PatchField, string> = {
  original_filename: 'original_filename = @original_filename',
  user_id: 'user_id = @user_id',
  session_id: 'session_id = @session_id',
  width: 'width = @width',
  height: 'height = @height',
  duration: 'duration = @duration',
  processing_status: 'processing_status = @processing_status',
  processing_metadata: 'processing_metadata = @processing_metadata',
  processing_error: 'processing_error = @processing_error',
  processing_started_at: 'processing_started_at = @processing_started_at',
  processing_completed_at: 'processing_completed_at = @processing_completed_at',
  metadata: 'metadata = @metadata',
};

export const PATCH_FIELDS = Object.keys(SET_FRAGMENTS) as PatchField[];

/** Column values in the form SQLite stores them (JSON already serialised). */
export type PatchValues = Partial<Record<PatchField, string | number | null>>;

function nullable<T>(value: unknown, check: (value: unknown) => T): T | null {
  return value === null ? null : check(value);
}

function processingMetadataJson(value: unknown): string | null {
  if (value === null) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) throw new ValidationError('patch.processing_metadata must be a JSON value');
  if (Buffer.byteLength(json) > MAX_PROCESSING_METADATA_BYTES) {
    throw new ValidationError(`patch.processing_metadata must be at most ${MAX_PROCESSING_METADATA_BYTES} bytes as JSON`);
  }
  return json;
}

function processingError(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_PROCESSING_ERROR_CHARS) {
    throw new ValidationError(`patch.processing_error must be a string of at most ${MAX_PROCESSING_ERROR_CHARS} characters, or null`);
  }
  return value;
}

function processingStatus(value: unknown): ProcessingStatus {
  if (!(PROCESSING_STATUSES as readonly unknown[]).includes(value)) {
    throw new ValidationError(`patch.processing_status must be one of ${PROCESSING_STATUSES.join(', ')}`);
  }
  return value as ProcessingStatus;
}

const CHECKS: Record<PatchField, (value: unknown) => string | number | null> = {
  original_filename: (v) => filename(v, 'patch.original_filename'),
  user_id: (v) => nullable(v, (x) => idString(x, 'patch.user_id')),
  session_id: (v) => nullable(v, (x) => idString(x, 'patch.session_id')),
  width: (v) => nullable(v, (x) => nonNegativeInteger(x, 'patch.width')),
  height: (v) => nullable(v, (x) => nonNegativeInteger(x, 'patch.height')),
  duration: (v) => nullable(v, (x) => nonNegativeInteger(x, 'patch.duration')),
  processing_status: processingStatus,
  processing_metadata: processingMetadataJson,
  processing_error: (v) => nullable(v, processingError),
  processing_started_at: (v) => nullable(v, (x) => isoTimestamp(x, 'patch.processing_started_at')),
  processing_completed_at: (v) => nullable(v, (x) => isoTimestamp(x, 'patch.processing_completed_at')),
  metadata: (v) => JSON.stringify(stringRecord(v, 'patch.metadata')),
};

/** One field held to a patch's rule, in column form; throws ValidationError as a patch with it would. */
export function parsePatchField(field: PatchField, value: unknown): string | number | null {
  return CHECKS[field](value);
}

/** Validates a caller's patch. `metadata`, when given, replaces the whole object. */
export function parseMetadataPatch(raw: unknown): PatchValues {
  if (!isPlainObject(raw)) throw new ValidationError(`patch must be an object with some of: ${PATCH_FIELDS.join(', ')}`);
  refuseUnknownKeys(raw, PATCH_FIELDS, 'patch');
  const values: PatchValues = {};
  for (const field of PATCH_FIELDS) {
    if (raw[field] !== undefined) values[field] = CHECKS[field](raw[field]);
  }
  if (Object.keys(values).length === 0) {
    throw new ValidationError(`patch must set at least one of: ${PATCH_FIELDS.join(', ')}`);
  }
  return values;
}

/**
 * The UPDATE for these fields, in a fixed order so equal shapes share one
 * cached statement. `recordOwed`: whether the photo's update record
 * (update-records/) may now differ from its row (migration 007).
 */
export function patchUpdateSql(values: PatchValues, recordOwed = true): string {
  const sets = PATCH_FIELDS.filter((field) => values[field] !== undefined).map((field) => SET_FRAGMENTS[field]);
  sets.push('updated_at = @updated_at', recordOwed ? 'record_owed = 1' : 'record_owed = 0');
  return `UPDATE photos SET ${sets.join(', ')}
    WHERE id = @id AND client_id = @client_id AND state = 'committed'
    RETURNING ${PHOTO_RETURNING}`;
}
