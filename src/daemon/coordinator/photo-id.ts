import { NotFoundError, ValidationError } from '../../protocol/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Photo ids are UUIDs the daemon made. A non-string is a caller bug
 * (VALIDATION); a string that cannot be one of ours simply does not exist.
 */
export function parsePhotoId(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 128) {
    throw new ValidationError('id must be a photo id string (1-128 characters)');
  }
  if (!UUID.test(raw)) throw new NotFoundError(`photo ${raw} not found`);
  return raw;
}
