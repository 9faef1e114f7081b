// Runs a validated SearchPlan against the read-only connection. The SQL is
// assembled from fixed fragments with bound values; the COUNT and the page
// are read in one snapshot so that `total` and `hasMore` agree with the rows
// returned.
//
// A text search starts from the tenant's own words (photo_words, keyed by
// client first): the longest word's index range gives the candidate rows and
// each other word is checked on the candidate's own words. Its cost follows
// the tenant's matching rows, never the whole catalog. When the words match
// so many of the tenant's rows that a page ordered by upload time is found
// sooner by walking the tenant's upload-time index (checking each row's
// words) than by sorting every match, the page walks instead; the tenant's
// size (tenant_photos) decides.
//
// A page query picks and orders the photos' seq alone; each kept photo's
// columns are then read by seq, in raw mode. Selecting the columns in the
// page query made SQLite carry all 22 of every match through its sort (a
// one-word search with 100 matches cost 175 µs for a page of one, against
// 62 µs this way), and object-mode rows cost ~4 µs each (photo-row.ts
// recordOf); a 50-photo page of the same search went from 456 to 211 µs.

import type { SortField } from '../../protocol/types';
import { decodeCursor, queryFingerprint } from './cursor';
import type { Db } from './open-database';
import { PHOTO_COLUMNS, recordOf } from './photo-row';
import { PageRows, photosOf, type RecordPage, type SearchPage } from './search-page';
import { deadlineCheck } from './search-deadline';
import type { SearchPlan } from './search-query';
import { prefixRange } from './search-words';
import type { StatementCache } from './statement-cache';

/** The sort whitelist, for both engines: a caller's field picks a column, never names one. */
export const SORT_COLUMNS: Record<SortField, string> = {
  uploaded_at: 'p.uploaded_at',
  created_at: 'p.created_at',
  updated_at: 'p.updated_at',
  size: 'p.size',
  original_filename: 'p.original_filename',
};

/**
 * Whether an upload-time page should walk the tenant's upload-time index
 * (reading about `wanted × tenantRows / matches` rows, checking each one's
 * words) rather than look up and sort every match (`matches` rows). Both
 * steps cost about one row read; the tenant's size comes from tenant_photos.
 */
function walkIsCheaper(matches: number, wanted: number, tenantRows: number): boolean {
  return matches * matches > wanted * tenantRows;
}

const TENANT_ROWS = 'SELECT committed FROM tenant_photos WHERE client_id = ?';
const ONE_WORD_RANGE =
  'SELECT (SELECT word FROM photo_words WHERE client_id = ? AND word >= ? AND word < ? ORDER BY word LIMIT 1) = ' +
  '(SELECT word FROM photo_words WHERE client_id = ? AND word >= ? AND word < ? ORDER BY word DESC LIMIT 1)';

/** One photo's columns by seq, for the rows a page keeps. */
const PAGE_ROW = `SELECT ${PHOTO_COLUMNS} FROM photos p WHERE p.seq = ?`;

/**
 * Steps the page's seqs (in page order) until the page is full
 * (search-page.ts), reading each photo's columns only as it is offered, so
 * rows past the page, or past its byte bound, are never read.
 */
function readPage(statements: StatementCache, pageSeqs: string, params: unknown[], limit: number): PageRows {
  const page = new PageRows(limit);
  const row = statements.get(PAGE_ROW).raw(true);
  for (const seq of statements.get(pageSeqs).pluck().iterate(...params) as IterableIterator<number>) {
    if (!page.offer(recordOf(row.get(seq) as unknown[]))) break;
  }
  return page;
}

interface Sql {
  sql: string;
  params: unknown[];
}

function filterClause(clientId: string, plan: SearchPlan, bounded: boolean): Sql & { filtered: boolean } {
  const conditions = ['p.client_id = ?', "p.state = 'committed'"];
  const params: unknown[] = [clientId];
  const add = (condition: string, value: unknown) => {
    conditions.push(condition);
    params.push(value);
  };
  const { filters } = plan;
  // ANDed with the caller's own id: naming another client's id finds nothing.
  if (filters.client_id !== undefined) add('p.client_id = ?', filters.client_id);
  if (filters.user_id !== undefined) add('p.user_id = ?', filters.user_id);
  // Lists travel as one JSON parameter so every list length shares one statement.
  if (filters.mime_type !== undefined) add('p.mime_type IN (SELECT value FROM json_each(?))', JSON.stringify(filters.mime_type));
  if (filters.processing_status !== undefined) {
    add('p.processing_status IN (SELECT value FROM json_each(?))', JSON.stringify(filters.processing_status));
  }
  if (filters.uploaded_from !== undefined) add('p.uploaded_at >= ?', filters.uploaded_from);
  if (filters.uploaded_to !== undefined) add('p.uploaded_at <= ?', filters.uploaded_to);
  if (plan.textMatch.kind === 'nothing') conditions.push('0');
  const filtered = conditions.length > 2;
  if (bounded) conditions.push(deadlineCheck('p.seq'));
  return { sql: conditions.join(' AND '), params, filtered };
}

/** `alias`'s photo has a word beginning with each of `words`, checked on the photo's own words. */
function hasWords(seq: string, words: readonly string[]): Sql {
  return {
    sql: words.map(() => ` AND EXISTS (SELECT 1 FROM photo_words o WHERE o.seq = ${seq} AND o.word >= ? AND o.word < ?)`).join(''),
    params: words.flatMap(prefixRange),
  };
}

/**
 * The tenant's photos matching every word: the first word's range, the others
 * checked per candidate. A range that holds a single word has each photo
 * once (the key is client, word, photo) and needs no DISTINCT, which would
 * sort every match in a temporary tree.
 */
function matchingSeqs(clientId: string, words: readonly string[], oneWordRange: boolean, bounded: boolean): Sql {
  const others = hasWords('w.seq', words.slice(1));
  const check = bounded ? ` AND ${deadlineCheck('w.seq')}` : '';
  return {
    sql: `SELECT ${oneWordRange ? '' : 'DISTINCT '}w.seq FROM photo_words w WHERE w.client_id = ? AND w.word >= ? AND w.word < ?${others.sql}${check}`,
    params: [clientId, ...prefixRange(words[0]!), ...others.params],
  };
}

/**
 * `bounded`: the SQL checks the connection's SearchDeadline (search-deadline.ts),
 * which must be installed on `reader`.
 */
export function runSearch(reader: Db, statements: StatementCache, clientId: string, plan: SearchPlan, bounded = false): SearchPage {
  return photosOf(runSearchRecords(reader, statements, clientId, plan, bounded));
}

/** As runSearch, with the page's rows left unparsed (a search thread's answer: search-page.ts RecordPage). */
export function runSearchRecords(reader: Db, statements: StatementCache, clientId: string, plan: SearchPlan, bounded = false): RecordPage {
  const { sort, limit, offset, textMatch } = plan;
  const fingerprint = queryFingerprint([clientId, textMatch, plan.filters, sort]);
  const filter = filterClause(clientId, plan, bounded);
  const column = SORT_COLUMNS[sort.field];
  const direction = sort.order === 'desc' ? 'DESC' : 'ASC';

  let keyset = '';
  const keysetParams: unknown[] = [];
  if (plan.cursor !== undefined) {
    const after = decodeCursor(plan.cursor, sort, fingerprint);
    // Ties on the sort value are broken by id, so (value, id) is a total order and no row is skipped or repeated.
    keyset = ` AND (${column}, p.id) ${sort.order === 'desc' ? '<' : '>'} (?, ?)`;
    keysetParams.push(after.value, after.id);
  }
  const order = ` ORDER BY ${column} ${direction}, p.id ${direction} LIMIT ? OFFSET ?`;
  // One extra row tells whether another page exists, for offset and cursor pages alike.
  const window = [limit + 1, offset];

  const { total, page } = reader.transaction((): { total: number; page: PageRows } => {
    if (textMatch.kind !== 'words') {
      const count = `SELECT count(*) FROM photos p WHERE ${filter.sql}`;
      const page = `SELECT p.seq FROM photos p WHERE ${filter.sql}${keyset}${order}`;
      return {
        total: statements.get(count).pluck().get(...filter.params) as number,
        page: readPage(statements, page, [...filter.params, ...keysetParams, ...window], limit),
      };
    }
    const range = prefixRange(textMatch.words[0]!);
    // Two index seeks: the first and the last word of the range.
    const oneWordRange = statements.get(ONE_WORD_RANGE).pluck().get(clientId, ...range, clientId, ...range) === 1;
    const matches = matchingSeqs(clientId, textMatch.words, oneWordRange, bounded);
    // Words exist only for committed photos of their client: without other filters the count needs no photo row.
    const count = filter.filtered
      ? `SELECT count(*) FROM (${matches.sql}) m CROSS JOIN photos p ON p.seq = m.seq WHERE ${filter.sql}`
      : `SELECT count(*) FROM (${matches.sql})`;
    const total = statements.get(count).pluck().get(...matches.params, ...(filter.filtered ? filter.params : [])) as number;
    if (total === 0 || offset >= total) return { total, page: new PageRows(limit) };
    const tenantRows = (statements.get(TENANT_ROWS).pluck().get(clientId) as number | undefined) ?? 0;
    if (sort.field === 'uploaded_at' && walkIsCheaper(total, offset + limit + 1, tenantRows)) {
      const words = hasWords('p.seq', textMatch.words);
      const page = `SELECT p.seq FROM photos p WHERE ${filter.sql}${words.sql}${keyset}${order}`;
      return { total, page: readPage(statements, page, [...filter.params, ...words.params, ...keysetParams, ...window], limit) };
    }
    // CROSS JOIN keeps SQLite from turning the join around: the matches drive, the photos are looked up by seq.
    const page = `SELECT p.seq FROM (${matches.sql}) m CROSS JOIN photos p ON p.seq = m.seq WHERE ${filter.sql}${keyset}${order}`;
    return { total, page: readPage(statements, page, [...matches.params, ...filter.params, ...keysetParams, ...window], limit) };
  })();

  return page.toRecordPage(total, offset, sort, fingerprint);
}
