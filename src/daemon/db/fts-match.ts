// Turns a caller's search text into an FTS5 MATCH expression that can only
// mean "all of these word prefixes". Caller syntax (quotes, AND/OR/NOT, NEAR,
// column filters, `*`, parentheses) never reaches FTS5: every word is cut out
// with the same rule the unicode61 tokenizer uses and quoted as a phrase.

/** Letters, digits and private-use characters: unicode61's default token characters. */
const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

export type TextMatch =
  /** No text given (absent, empty or blank): no full-text condition. */
  | { kind: 'any' }
  /** Text with no word in it, e.g. "!!!": nothing can match, so nothing is returned. */
  | { kind: 'nothing' }
  | { kind: 'match'; expression: string };

/** The words of a caller's search text, as every engine cuts them (PostgreSQL's search uses this too). */
export function searchWords(text: string): string[] {
  return text.match(WORD) ?? [];
}

export function compileTextMatch(text: string | undefined): TextMatch {
  if (text === undefined || text.trim() === '') return { kind: 'any' };
  const words = searchWords(text);
  if (words.length === 0) return { kind: 'nothing' };
  // Words hold no quote character, so the phrase quoting cannot be broken out of.
  return { kind: 'match', expression: words.map((word) => `"${word}"*`).join(' ') };
}
