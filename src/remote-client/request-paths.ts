// Paths and query strings of the gateway's routes. Arguments a URL would turn
// into text are type-checked first, with the daemon's wording, so that a
// caller's number-where-a-string-belongs fails on HTTP as it does on the socket.

import { ValidationError } from '../protocol/errors';
import type { PaginationOptions } from '../protocol/types';

export function idPath(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
    throw new ValidationError('id must be a photo id string (1-128 characters)');
  }
  return `/photos/${encodeURIComponent(id)}`;
}

export function userPath(userId: unknown): string {
  // An empty segment would name another route (or none); the daemon's own rule covers the rest.
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new ValidationError('userId must be a non-empty string of at most 128 characters without control characters');
  }
  return `/users/${encodeURIComponent(userId)}/photos`;
}

export function urlExpiryQuery(expirySeconds: unknown): string {
  if (expirySeconds === undefined || expirySeconds === null) return '';
  if (typeof expirySeconds !== 'number' || !Number.isFinite(expirySeconds)) {
    throw new ValidationError('expirySeconds must be an integer number of seconds');
  }
  return `?expirySeconds=${expirySeconds}`;
}

const PAGE_KEYS = ['limit', 'offset', 'cursor'];

export function pageQuery(options: PaginationOptions | undefined): string {
  if (options === undefined || options === null) return '';
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError('options must be an object { limit?, offset?, cursor? }');
  }
  const raw = options as Record<string, unknown>;
  const query = new URLSearchParams();
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (value === undefined) continue;
    if (!PAGE_KEYS.includes(key)) {
      throw new ValidationError(`options has an unknown field "${key}"; allowed fields: ${PAGE_KEYS.join(', ')}`);
    }
    if (key === 'cursor') {
      if (typeof value !== 'string') throw new ValidationError("cursor must be a string taken unchanged from a previous page's nextCursor");
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ValidationError(`${key} must be an integer`);
    }
    query.set(key, String(value));
  }
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}
