import type { NewPhotoRow } from '../db/catalog';
import type { ValidatedStoreOptions } from '../validation/store-options';
import type { PendingPlace } from './early-upload';

/** The row a store inserts as `pending` before its blob is written. */
export function pendingRow(
  clientId: string,
  options: ValidatedStoreOptions,
  mimeType: string,
  place: PendingPlace,
  size: number,
  checksum: string,
): NewPhotoRow {
  return {
    id: place.id,
    client_id: clientId,
    user_id: options.userId ?? null,
    session_id: options.sessionId ?? null,
    original_filename: options.originalName,
    mime_type: mimeType,
    bucket: place.bucket,
    s3_key: place.key,
    size,
    checksum,
    metadata: options.metadata ?? {},
    uploaded_at: place.uploadedAt,
    idempotency_key: options.idempotencyKey ?? null,
  };
}
