// The words search matches, cut the same way from a photo's filename and MIME
// type (photo-words.ts indexes them) and from a caller's search text (here
// turned into a TextMatch): by SQLite's unicode61 tokenizer (unicode61.ts),
// as the FTS5 index of 001 did and as the PostgreSQL catalog does, so every
// engine finds the same photos: case and accents folded (`Café` is `cafe`),
// split on everything that is not a letter, digit or private-use mark
// (`beach-sunset_2024.jpg` is beach / sunset / 2024 / jpg).
//
// What a caller can make a search cost is bounded here: words are deduped,
// a word that begins another one adds nothing (`be beach` is `beach`), and
// more than MAX_QUERY_WORDS distinct words are refused.

import { ValidationError } from '../../protocol/errors';
import { unicode61Tokens } from './unicode61';

/** Letters, digits and private-use characters: unicode61's default token characters. */
const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

/** Distinct words a search may name; each one is an index range to read. */
export const MAX_QUERY_WORDS = 8;
/** A word longer than this (in UTF-8) cannot begin any indexed word: filenames and MIME types are at most 255 bytes. */
export const MAX_WORD_BYTES = 255;

export type TextMatch =
  /** No text given (absent, empty or blank): no full-text condition. */
  | { kind: 'any' }
  /** Text that can match nothing, e.g. "!!!": nothing is returned. */
  | { kind: 'nothing' }
  /** Every word must begin a word of the photo; the longest first (it narrows most). */
  | { kind: 'words'; words: string[] };

/** The words of a caller's search text, as every engine cuts them (PostgreSQL's search uses this too). */
export function searchWords(text: string): string[] {
  return text.match(WORD) ?? [];
}

/** The distinct words of a photo's filename and MIME type, as indexed. */
export function wordsOf(originalFilename: string, mimeType: string): string[] {
  return [...new Set(unicode61Tokens(originalFilename, mimeType).map((token) => token.term))];
}

export function compileTextMatch(text: string | undefined): TextMatch {
  if (text === undefined || text.trim() === '') return { kind: 'any' };
  // Each word's tokens are searched as prefixes, ANDed. A word unicode61 sees no token in (a letter newer than its
  // Unicode 6.1 tables) is left out beside others and matches nothing alone, as FTS5 and the PostgreSQL catalog do.
  const terms = new Set(searchWords(text).flatMap((word) => unicode61Tokens(word).map((token) => token.term)));
  const words = [...terms].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  if (words.length === 0) return { kind: 'nothing' };
  // Longest first, so a word is kept only if no longer word kept already begins with it.
  const kept: string[] = [];
  for (const word of words) if (!kept.some((longer) => longer.startsWith(word))) kept.push(word);
  if (kept.length > MAX_QUERY_WORDS) {
    throw new ValidationError(
      `query has ${kept.length} different words; at most ${MAX_QUERY_WORDS} are searched: leave out the shortest ones`,
    );
  }
  if (Buffer.byteLength(kept[0]!) > MAX_WORD_BYTES) return { kind: 'nothing' };
  return { kind: 'words', words: kept };
}

/** The index range of words that begin with `prefix`: [prefix, prefix + U+10FFFF), which no indexed character reaches. */
export function prefixRange(prefix: string): [string, string] {
  return [prefix, `${prefix}\u{10FFFF}`];
}
