// The words PostgreSQL search indexes and looks for, cut and folded by the
// very tokenizer the SQLite catalog uses (db/unicode61.ts: FTS5 unicode61,
// remove_diacritics 2, run on an in-memory SQLite database). PostgreSQL's own
// parser and dictionaries differ and depend on the database's locale. One
// tokenizer means one answer on both engines.
//
// Both sides produce text for PostgreSQL's tsvector/tsquery input with every
// lexeme quoted, so nothing a caller writes is read as tsquery syntax.

import { searchWords } from '../db/search-words';
import { unicode61Tokens } from '../db/unicode61';

export { SQLITE_TOKENIZER } from '../db/unicode61';

/**
 * tsvector positions of mime_type's words start here, past any filename's
 * (at most 255 bytes, so at most 255 words): a phrase never spans the two
 * columns, as in FTS5 where they are separate columns.
 */
const MIME_TYPE_POSITION = 1000;

/** A lexeme quoted for tsvector and tsquery input: quotes doubled, backslashes escaped. */
function quote(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * photos.search_words of a row, as tsvector input text: bind it as
 * `$n::tsvector` on every INSERT, and on every UPDATE that changes
 * original_filename or mime_type.
 */
export function photoSearchWords(originalFilename: string, mimeType: string): string {
  return unicode61Tokens(originalFilename, mimeType)
    .map(({ term, col, offset }) => `${quote(term)}:${offset + 1 + (col === 'b' ? MIME_TYPE_POSITION : 0)}`)
    .join(' ');
}

/** A caller's search text as a tsquery, and whether photo_words alone can answer it. */
export interface SearchTsquery {
  /** tsquery input text: bind it as `$n::tsquery`. */
  query: string;
  /**
   * Some word is a phrase of several tokens (`a <-> b:*`): its tokens'
   * order and adjacency are in search_words only, so each candidate that
   * photo_words gives must be checked against `query` on its row. Without
   * one, the query is words ANDed, each a prefix, which is exactly a photo
   * having a word in each word's prefix range.
   */
  phrase: boolean;
}

/**
 * The tsquery for a caller's search text, or null when it has no word.
 * FTS5 reads each word as a phrase with a prefix on its last token; so does
 * this (`a <-> b:*`), and words are ANDed.
 */
export function searchTsqueryOf(text: string): SearchTsquery | null {
  const phrases: string[] = [];
  let phrase = false;
  for (const word of searchWords(text)) {
    const tokens = unicode61Tokens(word)
      .filter((token) => token.col === 'a')
      .sort((x, y) => x.offset - y.offset);
    // A word unicode61 sees no token in (a letter newer than its Unicode 6.1 tables) is an empty phrase: FTS5 ignores it beside
    // other words and matches nothing when it is alone; the caller turns null into no match.
    if (tokens.length === 0) continue;
    if (tokens.length > 1) phrase = true;
    phrases.push(`${tokens.map((token) => quote(token.term)).join(' <-> ')}:*`);
  }
  return phrases.length === 0 ? null : { query: phrases.join(' & '), phrase };
}
