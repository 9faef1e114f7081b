import { ValidationError } from '../../protocol/errors';
import { DEFAULT_URL_EXPIRY_SECONDS, MAX_URL_EXPIRY_SECONDS, MIN_URL_EXPIRY_SECONDS } from '../../protocol/limits';

export function parseUrlExpiry(raw: unknown): number {
  if (raw === undefined || raw === null) return DEFAULT_URL_EXPIRY_SECONDS;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < MIN_URL_EXPIRY_SECONDS || raw > MAX_URL_EXPIRY_SECONDS) {
    throw new ValidationError(
      `expirySeconds must be an integer between ${MIN_URL_EXPIRY_SECONDS} and ${MAX_URL_EXPIRY_SECONDS}`,
    );
  }
  return raw;
}
