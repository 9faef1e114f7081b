// One page of a search, as both engines build it from the rows their SQL
// returns in the page's order: up to `limit` photos or MAX_PAGE_BYTES of
// answer (db/photo-bytes.ts), whichever comes first, never empty while rows
// remain. A page cut by bytes says so (`limit` is what it holds, `hasMore`
// is true, the cursor points past its last photo), so `nextCursor` and
// `offset + page.limit` both continue where it ended, on either engine.
//
// Rows are offered one at a time and parsed only once kept: SQLite steps its
// statement, PostgreSQL reads its cursor in batches, and neither holds a
// thousand 64 KiB rows only to send a few.

import type { Photo, PhotoPage, SearchResult, SortField } from '../../protocol/types';
import { encodeCursor } from './cursor';
import { answerBytes, MAX_PAGE_BYTES } from './photo-bytes';
import { toPhoto, type PhotoRecord } from './photo-row';
import type { SortOrder } from './search-query';

export interface SearchPage {
  photos: Photo[];
  total: number;
  /** The page size asked for, or how many photos the page holds when MAX_PAGE_BYTES cut it short. */
  limit: number;
  offset: number;
  hasMore: boolean;
  nextCursor: string | null;
}

/**
 * A page before its rows are parsed into photos: what a search thread sends
 * the main thread. Rows hold their metadata as JSON text, so the thread
 * parses nothing and the structured clone copies strings (about the answer's
 * size) instead of parsed objects (up to ~28x it); the main thread parses
 * them once, as it did when it ran the search itself.
 */
export interface RecordPage extends Omit<SearchPage, 'photos'> {
  records: PhotoRecord[];
}

/** The page with its rows parsed into photos. */
export function photosOf(page: RecordPage): SearchPage {
  const { records, ...rest } = page;
  return { photos: records.map(toPhoto), ...rest };
}

/** The API's answer for a page either engine found, timed from `started` (performance.now()). */
export function searchResult(page: SearchPage, started: number): SearchResult {
  return {
    photos: page.photos,
    total: page.total,
    page: { limit: page.limit, offset: page.offset, hasMore: page.hasMore, nextCursor: page.nextCursor },
    searchTime: Math.round((performance.now() - started) * 100) / 100,
  };
}

/** getUserPhotos' answer for a page either engine found. */
export function userPhotosPage({ photos, total, limit, offset, hasMore, nextCursor }: SearchPage): PhotoPage {
  return { photos, pagination: { total, limit, offset, hasMore, nextCursor } };
}

/** The rows of one page, taken in order until it is full by count or by bytes. */
export class PageRows {
  readonly #limit: number;
  readonly #records: PhotoRecord[] = [];
  #bytes = 0;
  /** Another row follows the page. */
  #more = false;
  /** The page ended at MAX_PAGE_BYTES before `limit`. */
  #cut = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Offers the next row in the page's order. False once the page is full
   * without it: the caller stops reading, and the page reports more rows.
   */
  offer(record: PhotoRecord): boolean {
    if (this.#more) return false;
    if (this.#records.length === this.#limit) {
      this.#more = true;
      return false;
    }
    this.#bytes += answerBytes(record);
    if (this.#records.length > 0 && this.#bytes > MAX_PAGE_BYTES) {
      this.#more = this.#cut = true;
      return false;
    }
    this.#records.push(record);
    return true;
  }

  /** The page, with `total` counted in the same snapshot and the cursor that continues after it. */
  toPage(total: number, offset: number, sort: { field: SortField; order: SortOrder }, fingerprint: string): SearchPage {
    return photosOf(this.toRecordPage(total, offset, sort, fingerprint));
  }

  /** As toPage, with the rows as they came from the database. */
  toRecordPage(total: number, offset: number, sort: { field: SortField; order: SortOrder }, fingerprint: string): RecordPage {
    const records = this.#records;
    const last = records[records.length - 1];
    const nextCursor = this.#more && last !== undefined ? encodeCursor(sort, { value: last[sort.field], id: last.id }, fingerprint) : null;
    return { records, total, limit: this.#cut ? records.length : this.#limit, offset, hasMore: this.#more, nextCursor };
  }
}
