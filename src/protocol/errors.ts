// One error hierarchy for every door into storaged. The socket server and the
// HTTP gateway both map these `code` strings, so a caller sees the same code
// whichever transport it used.

export const ErrorCodes = {
  VALIDATION: 'VALIDATION',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  TOO_LARGE: 'TOO_LARGE',
  UNSUPPORTED_TYPE: 'UNSUPPORTED_TYPE',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  RANGE_NOT_SATISFIABLE: 'RANGE_NOT_SATISFIABLE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  UNAVAILABLE: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  TOO_MANY_IN_FLIGHT: 'TOO_MANY_IN_FLIGHT',
  RATE_LIMITED: 'RATE_LIMITED',
  PROTOCOL: 'PROTOCOL',
  CLOSED: 'CLOSED',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What travels on the wire for a failed call. */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class StorageError extends Error {
  readonly code: ErrorCode;
  /** True when the same call may succeed if tried again unchanged. */
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message };
    if (this.details !== undefined) wire.details = this.details;
    return wire;
  }
}

type Opts = { cause?: unknown; details?: Record<string, unknown> };

/**
 * An error that also carries a message written for a caller outside the host,
 * naming nothing inside the daemon: the gateway sends it in place of the
 * generic message it gives that code (the full one goes to the log).
 */
export interface CallerMessage {
  readonly callerMessage: string;
}

export class ValidationError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.VALIDATION, message, opts);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.NOT_FOUND, message, opts);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.CONFLICT, message, opts);
    this.name = 'ConflictError';
  }
}

export class TooLargeError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.TOO_LARGE, message, opts);
    this.name = 'TooLargeError';
  }
}

export class UnsupportedTypeError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.UNSUPPORTED_TYPE, message, opts);
    this.name = 'UnsupportedTypeError';
  }
}

export class ChecksumMismatchError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.CHECKSUM_MISMATCH, message, opts);
    this.name = 'ChecksumMismatchError';
  }
}

export class RangeNotSatisfiableError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.RANGE_NOT_SATISFIABLE, message, opts);
    this.name = 'RangeNotSatisfiableError';
  }
}

/** No credentials, or credentials the daemon does not know (HTTP gateway). */
export class UnauthorizedError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.UNAUTHORIZED, message, opts);
    this.name = 'UnauthorizedError';
  }
}

/** Known credentials that do not allow this call (e.g. an admin route, an expired signed URL). */
export class ForbiddenError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.FORBIDDEN, message, opts);
    this.name = 'ForbiddenError';
  }
}

export class UnavailableError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.UNAVAILABLE, message, { ...opts, retryable: true });
    this.name = 'UnavailableError';
  }
}

export class TimeoutError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.TIMEOUT, message, { ...opts, retryable: true });
    this.name = 'TimeoutError';
  }
}

export class TooManyInFlightError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.TOO_MANY_IN_FLIGHT, message, { ...opts, retryable: true });
    this.name = 'TooManyInFlightError';
  }
}

/** A caller past its request rate (the gateway's STORAGED_GATEWAY_RATE); details.retryAfterSeconds says when to come back. */
export class RateLimitedError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.RATE_LIMITED, message, { ...opts, retryable: true });
    this.name = 'RateLimitedError';
  }
}

export class ProtocolError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.PROTOCOL, message, opts);
    this.name = 'ProtocolError';
  }
}

export class ClosedError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.CLOSED, message, { ...opts, retryable: true });
    this.name = 'ClosedError';
  }
}

export class InternalError extends StorageError {
  constructor(message: string, opts: Opts = {}) {
    super(ErrorCodes.INTERNAL, message, opts);
    this.name = 'InternalError';
  }
}

const byCode: Record<ErrorCode, new (message: string, opts?: Opts) => StorageError> = {
  VALIDATION: ValidationError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  TOO_LARGE: TooLargeError,
  UNSUPPORTED_TYPE: UnsupportedTypeError,
  CHECKSUM_MISMATCH: ChecksumMismatchError,
  RANGE_NOT_SATISFIABLE: RangeNotSatisfiableError,
  UNAUTHORIZED: UnauthorizedError,
  FORBIDDEN: ForbiddenError,
  UNAVAILABLE: UnavailableError,
  TIMEOUT: TimeoutError,
  TOO_MANY_IN_FLIGHT: TooManyInFlightError,
  RATE_LIMITED: RateLimitedError,
  PROTOCOL: ProtocolError,
  CLOSED: ClosedError,
  INTERNAL: InternalError,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(byCode, value);
}

/** Rebuilds the typed error a peer sent; unknown codes become INTERNAL. */
export function errorFromWire(wire: unknown): StorageError {
  if (typeof wire !== 'object' || wire === null) {
    return new InternalError('peer sent a malformed error');
  }
  const { code, message, details } = wire as Record<string, unknown>;
  const text = typeof message === 'string' ? message : 'unknown error';
  const opts: Opts = {};
  if (typeof details === 'object' && details !== null) opts.details = details as Record<string, unknown>;
  const Ctor = isErrorCode(code) ? byCode[code] : InternalError;
  return new Ctor(text, opts);
}

/**
 * Turns anything thrown inside the daemon into a StorageError. Unknown errors
 * become INTERNAL with a generic message so nothing internal leaks to callers.
 */
export function toStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  return new InternalError('internal error', { cause: err });
}
