// Search cost (issue 13, item 4), measured on the catalog alone, as the
// daemon's main thread runs it:
// - search.scale: a one-word search from one of 100 tenants at 1,000,000
//   rows against the same at 10,000 rows; the cost must follow the tenant's
//   own matches, not the whole catalog. Insert throughput through the writer
//   at both sizes is printed beside it, so a cheaper search is never bought
//   by slower stores. A word found in every row (true totals must count
//   them all) is printed too.
// - search.worst: the slowest search a caller can send, against a one-word
//   search, at 100,000 rows, with the event-loop delay p99 while it runs
//   back to back (a synchronous search blocks the loop for its whole time).

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { Catalog } from '../src/daemon/db/catalog';
import { buildSearchCatalog, tenant, TENANTS } from './search-catalog';
import { note, report } from './report';

const TENANT = tenant(42);
const INSERTS = 2000;

async function searchLatency(name: string, run: () => unknown): Promise<{ mean: number; p99: number }> {
  const { Bench } = await import('tinybench');
  const bench = new Bench({ name, time: 1500, warmupTime: 300, warmupIterations: 5 });
  bench.add(name, async () => {
    await run();
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`benchmark ${name} ended in state ${result.state}`);
  return { mean: result.latency.mean, p99: result.latency.p99 ?? NaN };
}

/** Stores through the writer (pending insert, then commit), 2,000 at once: rows per second. */
async function insertRate(catalog: Catalog): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: INSERTS }, async (_, i) => {
      const id = randomUUID();
      await catalog.insertPending({
        id,
        client_id: tenant(i % TENANTS),
        user_id: `user-${i}`,
        session_id: null,
        original_filename: `insert-${i} sunset beach.jpg`,
        mime_type: 'image/jpeg',
        bucket: 'images',
        s3_key: `storaged/${id}.jpg`,
        size: 1000,
        checksum: 'cd'.repeat(32),
        metadata: {},
      });
      await catalog.commitPending(id);
    }),
  );
  return INSERTS / ((performance.now() - started) / 1000);
}

function open(file: string): Catalog {
  return Catalog.open({ path: file, logger: pino({ level: 'silent' }) });
}

export async function benchSearchScale(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-search-'));
  try {
    const sizes = [10_000, 1_000_000];
    const figures: Array<{ rows: number; word: { mean: number; p99: number }; every: { mean: number; p99: number }; bulk: number; inserts: number; total: number }> = [];
    for (const rows of sizes) {
      note(`search.scale: building ${rows} rows`);
      const { file, insertSeconds } = buildSearchCatalog(dir, `scale-${rows}`, rows);
      const catalog = open(file);
      try {
        const total = (await catalog.search(TENANT, { query: 'sunset' })).total;
        const word = await searchLatency(`search.word.${rows}`, () => catalog.search(TENANT, { query: 'sunset' }));
        const every = await searchLatency(`search.every.${rows}`, () => catalog.search(TENANT, { query: 'jpg' }));
        const inserts = await insertRate(catalog);
        figures.push({ rows, word, every, bulk: rows / insertSeconds, inserts, total });
      } finally {
        await catalog.close();
        fs.rmSync(file, { force: true });
      }
    }
    const [small, big] = figures as [(typeof figures)[0], (typeof figures)[0]];
    report({
      bench: 'search.scale',
      value: big.word.mean,
      unit: 'ms',
      p99_ms: big.word.p99,
      rows: big.rows,
      matches: big.total,
      baseline: `search at ${small.rows} rows`,
      baseline_value: small.word.mean,
      baseline_p99_ms: Number(small.word.p99.toFixed(3)),
      baseline_matches: small.total,
      inserts_per_s: Math.round(big.inserts),
      baseline_inserts_per_s: Math.round(small.inserts),
      fixture_rows_per_s: Math.round(big.bulk),
      baseline_fixture_rows_per_s: Math.round(small.bulk),
    });
    report({
      bench: 'search.scale.everyRow',
      value: big.every.mean,
      unit: 'ms',
      p99_ms: big.every.p99,
      baseline: `search at ${small.rows} rows`,
      baseline_value: small.every.mean,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Searches a caller may send, each trying a different way to be expensive. */
function candidates(): Array<{ name: string; query: Record<string, unknown> }> {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const single = [...letters].join(' ').repeat(4).slice(0, 256);
  const syllables = 'ka lo mi ne ru sa ti vo ze pu ra su ns '.repeat(10).slice(0, 256);
  return [
    { name: 'single letters (128 words)', query: { query: single, limit: 1000 } },
    { name: 'two-letter prefixes', query: { query: syllables, limit: 1000 } },
    { name: '8 single letters', query: { query: 'a b c d e f g h', limit: 1000 } },
    { name: '8 two-letter prefixes', query: { query: 'ka lo mi ne ru sa ti vo', limit: 1000 } },
    { name: '8 two-letter prefixes, size sort', query: { query: 'ka lo mi ne ru sa ti vo', limit: 1000, sort: { field: 'size', order: 'asc' } } },
    { name: 'a common word and 7 letters', query: { query: 'image j p e g s k l', limit: 1000 } },
    { name: 'one common prefix', query: { query: 'i', limit: 1000 } },
    { name: 'common prefix, size sort', query: { query: 'i', limit: 1000, sort: { field: 'size', order: 'desc' } } },
    { name: 'everything, deep offset', query: { limit: 1000, offset: 100_000, sort: { field: 'original_filename', order: 'asc' } } },
    { name: 'long word', query: { query: 'x'.repeat(256), limit: 1000 } },
  ];
}

export async function benchSearchWorst(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-search-'));
  try {
    note('search.worst: building 100000 rows');
    const { file } = buildSearchCatalog(dir, 'worst', 100_000);
    const catalog = open(file);
    try {
      let worst: { name: string; query: Record<string, unknown>; ms: number } | null = null;
      for (const candidate of candidates()) {
        let ms: number;
        try {
          const t0 = performance.now();
          for (let i = 0; i < 3; i++) await catalog.search(TENANT, candidate.query);
          ms = (performance.now() - t0) / 3;
        } catch (err) {
          note(`  ${candidate.name}: refused (${(err as Error).message})`);
          continue;
        }
        note(`  ${candidate.name}: ${ms.toFixed(2)} ms`);
        if (worst === null || ms > worst.ms) worst = { ...candidate, ms };
      }
      if (worst === null) throw new Error('every candidate was refused');
      const chosen = worst;
      note(`search.worst: the slowest is "${chosen.name}"`);
      const ordinary = await searchLatency('search.oneWord', () => catalog.search(TENANT, { query: 'sunset' }));
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      // Other calls' turns: a timer that yields between searches, as a daemon serving others would.
      const slow = await searchLatency('search.worst', () => new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          try {
            void Promise.resolve(catalog.search(TENANT, chosen.query)).then(() => resolve(), reject);
          } catch (err) {
            reject(err);
          }
        });
      }));
      histogram.disable();
      report({
        bench: 'search.worst',
        value: slow.mean,
        unit: 'ms',
        p99_ms: slow.p99,
        query: chosen.name,
        event_loop_delay_p99_ms: Number((histogram.percentile(99) / 1e6).toFixed(2)),
        event_loop_delay_max_ms: Number((histogram.max / 1e6).toFixed(2)),
        baseline: 'one-word search',
        baseline_value: ordinary.mean,
      });
    } finally {
      await catalog.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
