// storePhoto's options as the seed defines them, checked before a single body
// byte is accepted.

import { IDEMPOTENCY_KEY_PATTERN, type StorePhotoOptions } from '../../protocol/types';
import { UnsupportedTypeError, ValidationError } from '../../protocol/errors';
import { clientIdProblem } from '../../protocol/client-id';
import { canonicalMimeType } from './allowed-types';
import { bodyLimitFor, tooLarge, type BodyLimits } from './body-limits';
import { filename, idString, isPlainObject, refuseUnknownKeys, stringRecord } from './field-rules';

/** The options as the caller sent them, once every rule has passed (sha256 lower-cased, contentType canonical). */
export type ValidatedStoreOptions = StorePhotoOptions;

export interface StorePolicy {
  allowedTypes: readonly string[];
  /** A declared size over its type's limit (the largest, when no type is declared) is refused up front. */
  bodyLimits: BodyLimits;
}

const ALLOWED_KEYS = ['originalName', 'contentType', 'clientId', 'sessionId', 'userId', 'metadata', 'sha256', 'size', 'idempotencyKey'] as const;

export function validateStoreOptions(raw: unknown, callerClientId: string, policy: StorePolicy): ValidatedStoreOptions {
  if (!isPlainObject(raw)) throw new ValidationError('options must be an object');
  refuseUnknownKeys(raw, ALLOWED_KEYS, 'options');
  if (raw.originalName === undefined) throw new ValidationError('options.originalName is required');
  const options: ValidatedStoreOptions = {
    originalName: filename(raw.originalName, 'options.originalName'),
    clientId: callerClientId,
  };

  if (raw.clientId === undefined) throw new ValidationError('options.clientId is required');
  const problem = clientIdProblem(raw.clientId);
  if (problem !== null) throw new ValidationError(`options.${problem}`);
  if (raw.clientId !== callerClientId) {
    throw new ValidationError(
      `options.clientId '${String(raw.clientId)}' differs from the client id this connection is bound to ('${callerClientId}')`,
    );
  }

  if (raw.contentType !== undefined) {
    if (typeof raw.contentType !== 'string' || raw.contentType.length > 255) {
      throw new ValidationError('options.contentType must be a MIME type string such as image/jpeg');
    }
    const contentType = canonicalMimeType(raw.contentType);
    if (!policy.allowedTypes.includes(contentType)) {
      throw new UnsupportedTypeError(
        `content type ${raw.contentType} is not allowed (allowed: ${policy.allowedTypes.join(', ')})`,
      );
    }
    options.contentType = contentType;
  }
  if (raw.userId !== undefined) options.userId = idString(raw.userId, 'options.userId');
  if (raw.sessionId !== undefined) options.sessionId = idString(raw.sessionId, 'options.sessionId');
  if (raw.metadata !== undefined) options.metadata = stringRecord(raw.metadata, 'options.metadata');
  if (raw.sha256 !== undefined) {
    if (typeof raw.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(raw.sha256)) {
      throw new ValidationError('options.sha256 must be 64 hexadecimal characters');
    }
    options.sha256 = raw.sha256.toLowerCase();
  }
  if (raw.size !== undefined) {
    if (typeof raw.size !== 'number' || !Number.isSafeInteger(raw.size) || raw.size < 0) {
      throw new ValidationError('options.size must be a non-negative integer number of bytes');
    }
    const limit = bodyLimitFor(policy.bodyLimits, options.contentType);
    if (raw.size > limit) throw tooLarge(raw.size, limit, options.contentType);
    options.size = raw.size;
  }
  if (raw.idempotencyKey !== undefined) {
    if (typeof raw.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(raw.idempotencyKey)) {
      throw new ValidationError('options.idempotencyKey must be 1 to 255 visible ASCII characters (a UUID, for example)');
    }
    options.idempotencyKey = raw.idempotencyKey;
  }
  return options;
}
