// The words PostgreSQL search indexes and looks for, cut and folded by the
// very tokenizer the SQLite catalog uses (FTS5 unicode61, remove_diacritics
// 2), run on an in-memory SQLite database. Why not a regular expression and
// String#toLowerCase: unicode61 works from Unicode 6.1 tables with its own
// case folding and diacritic list, and a JS rewrite disagreed with it on
// about 47,000 code points (measured over U+0020..U+2FFFF: unassigned-in-6.1
// characters, final sigma, long s, dotless i, marks it strips or splits on).
// PostgreSQL's own parser and dictionaries differ again and depend on the
// database's locale. One tokenizer means one answer on both engines, at
// about 17 µs a photo.
//
// Both sides produce text for PostgreSQL's tsvector/tsquery input with every
// lexeme quoted, so nothing a caller writes is read as tsquery syntax.

import Database from 'better-sqlite3';
import { searchWords } from '../db/search-words';

/**
 * The tokenizer of migrations/001_initial.sql's photos_fts; a test checks the
 * SQLite migrations still declare it.
 */
export const SQLITE_TOKENIZER = 'unicode61 remove_diacritics 2';

/**
 * tsvector positions of mime_type's words start here, past any filename's
 * (at most 255 bytes, so at most 255 words): a phrase never spans the two
 * columns, as in FTS5 where they are separate columns.
 */
const MIME_TYPE_POSITION = 1000;

interface Token {
  term: string;
  col: 'a' | 'b';
  offset: number;
}

class Unicode61 {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #tokens: Database.Statement;
  readonly #begin: Database.Statement;
  readonly #rollback: Database.Statement;

  constructor() {
    this.#db = new Database(':memory:');
    this.#db.exec(`CREATE VIRTUAL TABLE t USING fts5(a, b, tokenize = '${SQLITE_TOKENIZER}');
      CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');`);
    this.#insert = this.#db.prepare('INSERT INTO t (rowid, a, b) VALUES (1, ?, ?)');
    this.#tokens = this.#db.prepare('SELECT term, col, offset FROM v');
    this.#begin = this.#db.prepare('BEGIN');
    this.#rollback = this.#db.prepare('ROLLBACK');
  }

  /** The tokens of two columns; the row is rolled back, so the table stays empty. */
  tokenize(a: string, b: string): Token[] {
    this.#begin.run();
    try {
      this.#insert.run(a, b);
      return this.#tokens.all() as Token[];
    } finally {
      this.#rollback.run();
    }
  }
}

let tokenizer: Unicode61 | null = null;
function unicode61(): Unicode61 {
  tokenizer ??= new Unicode61();
  return tokenizer;
}

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
  return unicode61()
    .tokenize(originalFilename, mimeType)
    .map(({ term, col, offset }) => `${quote(term)}:${offset + 1 + (col === 'b' ? MIME_TYPE_POSITION : 0)}`)
    .join(' ');
}

/**
 * The tsquery text for a caller's search text, or null when it has no word.
 * FTS5 reads each word as a phrase with a prefix on its last token; so does
 * this (`a <-> b:*`), and words are ANDed.
 */
export function searchTsquery(text: string): string | null {
  const phrases: string[] = [];
  for (const word of searchWords(text)) {
    const tokens = unicode61()
      .tokenize(word, '')
      .filter((token) => token.col === 'a')
      .sort((x, y) => x.offset - y.offset);
    // A word unicode61 sees no token in (a letter newer than its Unicode 6.1 tables) is an empty phrase: FTS5 ignores it beside
    // other words and matches nothing when it is alone; the caller turns null into no match.
    if (tokens.length === 0) continue;
    phrases.push(`${tokens.map((token) => quote(token.term)).join(' <-> ')}:*`);
  }
  return phrases.length === 0 ? null : phrases.join(' & ');
}
