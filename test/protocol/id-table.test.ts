import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdTable } from '../../src/protocol/id-table';

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

for (const [name, nextId] of [
  ['sequential ids, as clients make them', (i: number) => i + 1],
  ['ids that all collide modulo the capacity', (i: number) => i * 1024],
  ['ids beyond 32 bits', (i: number) => 2 ** 40 + i * 7],
] as const) {
  test(`behaves like a Map under random set, get and delete: ${name}`, () => {
    const random = prng(42);
    const table = new IdTable<{ n: number }>();
    const model = new Map<number, { n: number }>();
    const live: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const r = random();
      if (r < 0.5 || live.length === 0) {
        const id = nextId(i);
        const value = { n: i };
        table.set(id, value);
        model.set(id, value);
        live.push(id);
      } else if (r < 0.9) {
        const id = live.splice(Math.floor(random() * live.length), 1)[0]!;
        assert.equal(table.delete(id), model.delete(id));
      } else {
        assert.equal(table.delete(-7), false);
      }
      if (i % 97 === 0) {
        assert.equal(table.size, model.size);
        for (const id of live) assert.equal(table.get(id), model.get(id), `id ${id} at step ${i}`);
        assert.deepEqual(new Set(table.values()), new Set(model.values()));
      }
    }
  });
}

test('set replaces the value of an id already there', () => {
  const table = new IdTable<string>();
  table.set(5, 'a');
  table.set(5, 'b');
  assert.equal(table.size, 1);
  assert.equal(table.get(5), 'b');
  assert.ok(table.has(5));
  assert.ok(!table.has(6));
});

test('clear empties it, and undefined is refused as a value', () => {
  const table = new IdTable<string>();
  for (let i = 0; i < 100; i++) table.set(i, `v${i}`);
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.get(3), undefined);
  assert.throws(() => table.set(1, undefined as unknown as string), TypeError);
});
