// unicode61.ts cuts all-ASCII text itself rather than through SQLite's
// unicode61 tokenizer (17 µs a photo through SQLite): it must give exactly
// the tokens SQLite gives, or a photo indexed one way would not be found by
// words cut the other, and the PostgreSQL catalog would disagree with SQLite.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqliteTokens, unicode61Tokens } from '../../src/daemon/db/unicode61';

test('every ASCII character splits or joins words, and folds, as SQLite\'s unicode61 does', () => {
  for (let code = 0; code < 128; code++) {
    const c = String.fromCharCode(code);
    for (const [a, b] of [[`Ab${c}cD`, `x${c}Y`], [c, `${c}${c}`], [`${c}Z9`, ''], ['', `9z${c}`]] as const) {
      assert.deepEqual(unicode61Tokens(a, b), sqliteTokens(a, b), `character ${code} in ${JSON.stringify([a, b])}`);
    }
  }
});

test('random ASCII text gives SQLite\'s tokens, terms, columns and offsets alike', () => {
  // A fixed-seed generator: the same texts every run, so a failure can be replayed.
  let seed = 0x5eed;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const text = () => Array.from({ length: next() % 40 }, () => String.fromCharCode(next() % 128)).join('');
  for (let i = 0; i < 3000; i++) {
    const a = text();
    const b = text();
    assert.deepEqual(unicode61Tokens(a, b), sqliteTokens(a, b), JSON.stringify([a, b]));
  }
});

test('text with any non-ASCII character still goes through SQLite (folding accents, Unicode 6.1 letters)', () => {
  assert.deepEqual(
    unicode61Tokens('Café-ÉTÉ_2024.jpg', 'image/jpeg').map((t) => t.term),
    ['2024', 'cafe', 'ete', 'image', 'jpeg', 'jpg'],
  );
  assert.deepEqual(unicode61Tokens('Straße ſ ı'), sqliteTokens('Straße ſ ı'));
});
