// SQLite's unicode61 tokenizer (remove_diacritics 2), run from JS on an
// in-memory SQLite database: the one cut of text into words that both
// catalogs use, for the words they index and the words callers search for.
// Why not a regular expression and String#toLowerCase: unicode61 works from
// Unicode 6.1 tables with its own case folding and diacritic list, and a JS
// rewrite disagreed with it on about 47,000 code points (measured over
// U+0020..U+2FFFF: unassigned-in-6.1 characters, final sigma, long s,
// dotless i, marks it strips or splits on). About 17 µs a photo.
//
// Text that is all ASCII (most filenames and MIME types, most searches) is
// cut here instead: in ASCII unicode61's rule is short (letters and digits
// make words, every other character separates them, A-Z folds to a-z), and
// applying it took 0.8 µs a photo against 17 µs through SQLite, and 0.3
// against 13 µs a search word (2026-12-04). test/db/unicode61.test.ts holds
// it to SQLite's tokenizer on every ASCII character and on random text.

import Database from 'better-sqlite3';

/** The tokenizer migrations/001_initial.sql declared for photos_fts; search has cut words with it ever since. */
export const SQLITE_TOKENIZER = 'unicode61 remove_diacritics 2';

export interface Token {
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

/** The tokens of two texts (columns `a` and `b`), folded as unicode61 folds them. */
export function unicode61Tokens(a: string, b = ''): Token[] {
  if (ASCII_ONLY.test(a) && ASCII_ONLY.test(b)) {
    const tokens: Token[] = [];
    asciiTokens(a, 'a', tokens);
    asciiTokens(b, 'b', tokens);
    // In fts5vocab's order, which the SQLite path returns: by term, then column, then position.
    return tokens.sort(byVocabOrder);
  }
  return sqliteTokens(a, b);
}

/** The same, always through SQLite's own tokenizer (what the ASCII path is tested against). */
export function sqliteTokens(a: string, b = ''): Token[] {
  tokenizer ??= new Unicode61();
  return tokenizer.tokenize(a, b);
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const ASCII_WORD = /[0-9A-Za-z]+/g;

function byVocabOrder(x: Token, y: Token): number {
  if (x.term !== y.term) return x.term < y.term ? -1 : 1;
  if (x.col !== y.col) return x.col < y.col ? -1 : 1;
  return x.offset - y.offset;
}

function asciiTokens(text: string, col: Token['col'], into: Token[]): void {
  let offset = 0;
  for (const match of text.matchAll(ASCII_WORD)) into.push({ term: match[0].toLowerCase(), col, offset: offset++ });
}
