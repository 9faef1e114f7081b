// Checks for values that arrive from callers, shared by stores, patches and searches.
// Each returns the value in the form the database stores, or throws a
// ValidationError that names the field and says what is allowed.

import { ValidationError } from '../../protocol/errors';

export const MAX_ID_CHARS = 128;
export const MAX_METADATA_KEYS = 64;
export const MAX_METADATA_KEY_CHARS = 128;
export const MAX_METADATA_VALUE_CHARS = 1024;
/** Metadata keys become search filters and log fields: keep them to plain identifiers. */
const METADATA_KEY = /^[\w.-]+$/;

const CONTROL_CHARS = /\p{Cc}/u;
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Refuses keys outside `allowed`, listing the allowed ones. Keys whose value is undefined count as absent. */
export function refuseUnknownKeys(value: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (value[key] !== undefined && !allowed.includes(key)) {
      throw new ValidationError(`${what} has an unknown field "${key}"; allowed fields: ${allowed.join(', ')}`);
    }
  }
}

export function idString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_CHARS || CONTROL_CHARS.test(value)) {
    throw new ValidationError(
      `${field} must be a non-empty string of at most ${MAX_ID_CHARS} characters without control characters`,
    );
  }
  return value;
}

/** File names are limited in bytes, as file systems and S3 metadata count them. */
export const MAX_FILENAME_BYTES = 255;

// Any name a person's file may have ("photo (1).jpg", "café.jpg", "照片.png"),
// as long as it cannot be taken for something else: no control characters
// (C0, DEL, C1), no line or paragraph separators, no bidirectional overrides
// or isolates (which make "gpj.exe" read as "exe.jpg"), no path separator, not
// "." or "..", no white space at either end, and well-formed Unicode. It is
// stored NFC-normalised, so the same name typed on macOS (NFD) and elsewhere
// is one name and one search term.
/** A surrogate not part of a pair: a string that cannot be UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const FORBIDDEN = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069/\\]/u;

export function filename(value: unknown, field: string): string {
  const refuse = (why: string): never => {
    throw new ValidationError(`${field} ${why}`);
  };
  if (typeof value !== 'string' || value.length === 0) return refuse('must be a non-empty string');
  if (LONE_SURROGATE.test(value)) return refuse('must be well-formed Unicode (it holds a lone surrogate)');
  const name = value.normalize('NFC');
  if (Buffer.byteLength(name) > MAX_FILENAME_BYTES) return refuse(`must be at most ${MAX_FILENAME_BYTES} bytes of UTF-8`);
  const bad = FORBIDDEN.exec(name);
  if (bad !== null) {
    const code = `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return refuse(`must not contain ${bad[0] === '/' || bad[0] === '\\' ? 'a path separator' : 'a control or direction-changing character'} (${code})`);
  }
  if (name === '.' || name === '..') return refuse('must not be "." or ".."');
  if (name.trim() !== name) return refuse('must not begin or end with white space');
  return name;
}

export function nonNegativeInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative integer`);
  }
  return value;
}

/** An ISO-8601 date or date-time (with Z or an offset), returned as the canonical UTC form the database sorts by. */
export function isoTimestamp(value: unknown, field: string): string {
  const problem = `${field} must be an ISO-8601 timestamp such as 2024-05-01T12:30:00.000Z`;
  if (typeof value !== 'string') throw new ValidationError(problem);
  const match = ISO_TIMESTAMP.exec(value);
  if (match === null) throw new ValidationError(problem);
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  // Date would roll 2024-02-30 over into March instead of refusing it.
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  const inRange =
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHour! <= 23 &&
    offsetMinute! <= 59;
  const parsed = new Date(value);
  if (!inRange || Number.isNaN(parsed.getTime())) throw new ValidationError(problem);
  return parsed.toISOString();
}

/** A flat object of string values, within the key-count and length limits. */
export function stringRecord(value: unknown, field: string): Record<string, string> {
  if (!isPlainObject(value)) throw new ValidationError(`${field} must be an object of string values`);
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_KEYS) {
    throw new ValidationError(`${field} may have at most ${MAX_METADATA_KEYS} keys (got ${entries.length})`);
  }
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY_CHARS) {
      throw new ValidationError(`${field} keys must be 1 to ${MAX_METADATA_KEY_CHARS} characters long`);
    }
    if (!METADATA_KEY.test(key)) {
      throw new ValidationError(`${field} key ${JSON.stringify(key)} may contain only A-Z a-z 0-9 _ . -`);
    }
    if (typeof item !== 'string') throw new ValidationError(`${field}.${key} must be a string`);
    if (item.length > MAX_METADATA_VALUE_CHARS) {
      throw new ValidationError(`${field}.${key} must be at most ${MAX_METADATA_VALUE_CHARS} characters`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(entries) as Record<string, string>;
}
