// Validates what callers send to searchPhotos and getUserPhotos, shape by
// shape, into a SearchPlan. Nothing here builds SQL.

import { ValidationError } from '../../protocol/errors';
import { DEFAULT_PAGE_LIMIT, MAX_OFFSET, MAX_PAGE_LIMIT } from '../../protocol/limits';
import { PROCESSING_STATUSES, SORT_FIELDS, type ProcessingStatus, type SortField } from '../../protocol/types';
import { idString, isoTimestamp, isPlainObject, refuseUnknownKeys } from '../validation/field-rules';
import { compileTextMatch, type TextMatch } from './search-words';

export const MAX_QUERY_TEXT_CHARS = 256;
export const MAX_MIME_TYPE_FILTERS = 32;
const MAX_MIME_TYPE_CHARS = 255;

export type SortOrder = 'asc' | 'desc';

export interface SearchFilters {
  client_id?: string;
  user_id?: string;
  mime_type?: string[];
  processing_status?: ProcessingStatus[];
  /** Inclusive bounds on uploaded_at, canonical ISO strings. */
  uploaded_from?: string;
  uploaded_to?: string;
}

export interface PageRequest {
  limit: number;
  offset: number;
  cursor: string | undefined;
}

export interface SearchPlan extends PageRequest {
  /** The text as given, kept for the cursor fingerprint. */
  text: string;
  textMatch: TextMatch;
  filters: SearchFilters;
  sort: { field: SortField; order: SortOrder };
}

export const DEFAULT_SORT = { field: 'uploaded_at', order: 'desc' } as const;

export function parsePageRequest(raw: Record<string, unknown>): PageRequest {
  const { limit = DEFAULT_PAGE_LIMIT, offset = 0, cursor } = raw;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError(`limit must be an integer between 1 and ${MAX_PAGE_LIMIT}`);
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new ValidationError(`offset must be an integer between 0 and ${MAX_OFFSET}`);
  }
  if (cursor !== undefined && typeof cursor !== 'string') {
    throw new ValidationError("cursor must be a string taken unchanged from a previous page's nextCursor");
  }
  if (cursor !== undefined && offset > 0) {
    throw new ValidationError('cursor and offset cannot be combined: a cursor already says where the page starts');
  }
  return { limit, offset, cursor };
}

/** getUserPhotos' options. */
export function parsePaginationOptions(raw: unknown): PageRequest {
  if (!isPlainObject(raw)) throw new ValidationError('options must be an object { limit?, offset?, cursor? }');
  refuseUnknownKeys(raw, ['limit', 'offset', 'cursor'], 'options');
  return parsePageRequest(raw);
}

function stringList<T extends string>(value: unknown, field: string, max: number, check: (item: unknown) => item is T, what: string): T[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max || !value.every(check)) {
    throw new ValidationError(`${field} must be a non-empty array of at most ${max} ${what}`);
  }
  return [...new Set(value)];
}

const isMimeType = (item: unknown): item is string =>
  typeof item === 'string' && item.length > 0 && item.length <= MAX_MIME_TYPE_CHARS;
const isProcessingStatus = (item: unknown): item is ProcessingStatus =>
  (PROCESSING_STATUSES as readonly unknown[]).includes(item);

function parseFilters(raw: unknown): SearchFilters {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) throw new ValidationError('filters must be an object');
  refuseUnknownKeys(raw, ['client_id', 'user_id', 'mime_type', 'processing_status', 'date_range'], 'filters');
  const filters: SearchFilters = {};
  if (raw.client_id !== undefined) filters.client_id = idString(raw.client_id, 'filters.client_id');
  if (raw.user_id !== undefined) filters.user_id = idString(raw.user_id, 'filters.user_id');
  if (raw.mime_type !== undefined) {
    filters.mime_type = stringList(raw.mime_type, 'filters.mime_type', MAX_MIME_TYPE_FILTERS, isMimeType, 'MIME type strings');
  }
  if (raw.processing_status !== undefined) {
    const what = `statuses from: ${PROCESSING_STATUSES.join(', ')}`;
    filters.processing_status = stringList(raw.processing_status, 'filters.processing_status', PROCESSING_STATUSES.length, isProcessingStatus, what);
  }
  const range = raw.date_range;
  if (range !== undefined) {
    if (!isPlainObject(range)) throw new ValidationError('filters.date_range must be an object { start?, end? }');
    refuseUnknownKeys(range, ['start', 'end'], 'filters.date_range');
    if (range.start !== undefined) filters.uploaded_from = isoTimestamp(range.start, 'filters.date_range.start');
    if (range.end !== undefined) filters.uploaded_to = isoTimestamp(range.end, 'filters.date_range.end');
    if (filters.uploaded_from !== undefined && filters.uploaded_to !== undefined && filters.uploaded_from > filters.uploaded_to) {
      throw new ValidationError('filters.date_range.start must not be later than filters.date_range.end');
    }
  }
  return filters;
}

function parseSort(raw: unknown): SearchPlan['sort'] {
  if (raw === undefined) return { ...DEFAULT_SORT };
  if (!isPlainObject(raw)) throw new ValidationError('sort must be an object { field, order }');
  refuseUnknownKeys(raw, ['field', 'order'], 'sort');
  const { field = DEFAULT_SORT.field, order = DEFAULT_SORT.order } = raw;
  if (!(SORT_FIELDS as readonly unknown[]).includes(field)) {
    throw new ValidationError(`sort.field must be one of ${SORT_FIELDS.join(', ')}`);
  }
  if (order !== 'asc' && order !== 'desc') throw new ValidationError('sort.order must be "asc" or "desc"');
  return { field: field as SortField, order };
}

export function parseSearchQuery(raw: unknown): SearchPlan {
  if (!isPlainObject(raw)) throw new ValidationError('search query must be an object');
  refuseUnknownKeys(raw, ['query', 'filters', 'sort', 'limit', 'offset', 'cursor'], 'search query');
  const text = raw.query ?? '';
  if (typeof text !== 'string' || text.length > MAX_QUERY_TEXT_CHARS) {
    throw new ValidationError(`query must be a string of at most ${MAX_QUERY_TEXT_CHARS} characters`);
  }
  return {
    text,
    textMatch: compileTextMatch(text),
    filters: parseFilters(raw.filters),
    sort: parseSort(raw.sort),
    ...parsePageRequest(raw),
  };
}

/** getUserPhotos as a search: the user's committed photos, newest first, with no text. */
export function parseUserPhotosQuery(userId: unknown, options: unknown): SearchPlan {
  return {
    text: '',
    textMatch: compileTextMatch(undefined),
    filters: { user_id: idString(userId, 'userId') },
    sort: { ...DEFAULT_SORT },
    ...parsePaginationOptions(options ?? {}),
  };
}
