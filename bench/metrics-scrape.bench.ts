// metrics.bucketTotals.1m: what one /metrics scrape (or `storagectl stats`)
// costs the daemon's event loop for its per-bucket figures at 1,000,000 rows:
// the counters migration 005 keeps against the GROUP BY over the photos table
// they replaced, in the same run on the same file. Beside it, stores through
// the writer with the counters' triggers against the same without them, so
// that cheaper scrapes are never bought by slower stores.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Catalog } from '../src/daemon/db/catalog';
import { buildSearchCatalog, tenant, TENANTS } from './search-catalog';
import { note, percentile, report } from './report';

const ROWS = 1_000_000;
const INSERTS = 4000;
const GROUPED = "SELECT bucket, count(*) AS photos, coalesce(sum(size), 0) AS bytes FROM photos WHERE state = 'committed' GROUP BY bucket ORDER BY bucket";

function timesMs(runs: number, run: () => unknown): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    run();
    samples.push(performance.now() - t0);
  }
  return samples;
}

const mean = (samples: number[]) => samples.reduce((a, b) => a + b, 0) / samples.length;

/** Stores through the writer (pending insert, then commit), all at once: rows per second. */
async function storeRate(file: string): Promise<number> {
  const catalog = Catalog.open({ path: file, logger: pino({ level: 'silent' }) });
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: INSERTS }, async (_, i) => {
        const id = randomUUID();
        await catalog.insertPending({
          id, client_id: tenant(i % TENANTS), user_id: `user-${i}`, session_id: null, original_filename: `insert-${i}.jpg`,
          mime_type: 'image/jpeg', bucket: i % 3 === 0 ? 'videos' : 'images', s3_key: `storaged/${id}.jpg`, size: 1000,
          checksum: 'cd'.repeat(32), metadata: {},
        });
        await catalog.commitPending(id);
      }),
    );
    return INSERTS / ((performance.now() - started) / 1000);
  } finally {
    await catalog.close();
  }
}

export async function benchMetricsScrape(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-scrape-'));
  try {
    note(`metrics.bucketTotals.1m: building ${ROWS} rows`);
    const { file } = buildSearchCatalog(dir, 'scrape', ROWS);
    const catalog = Catalog.open({ path: file, logger: pino({ level: 'silent' }) });
    const raw = new Database(file, { readonly: true });
    let counters: number[];
    let grouped: number[];
    try {
      await catalog.bucketTotals();
      counters = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        await catalog.bucketTotals();
        counters.push(performance.now() - t0);
      }
      const statement = raw.prepare(GROUPED);
      grouped = timesMs(5, () => statement.all());
      const fromCounters = JSON.stringify(await catalog.bucketTotals());
      if (fromCounters !== JSON.stringify(statement.all())) throw new Error(`the counters disagree with the GROUP BY: ${fromCounters}`);
    } finally {
      raw.close();
      await catalog.close();
    }

    // Alternated, best of three each, so that neither side gets the warmer cache or the quieter moment.
    const probe = new Database(file);
    const triggers = probe.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'bucket_totals_%'").all() as Array<{ name: string; sql: string }>;
    probe.close();
    if (triggers.length !== 4) throw new Error(`expected the four counter triggers, found ${triggers.length}`);
    const rates = { with: [] as number[], without: [] as number[] };
    for (let round = 0; round < 3; round++) {
      rates.with.push(await storeRate(file));
      const plain = new Database(file);
      for (const { name } of triggers) plain.exec(`DROP TRIGGER ${name}`);
      plain.close();
      rates.without.push(await storeRate(file));
      const restore = new Database(file);
      for (const { sql } of triggers) restore.exec(sql);
      restore.close();
    }
    const withTriggers = Math.max(...rates.with);
    const withoutTriggers = Math.max(...rates.without);

    report({
      bench: 'metrics.bucketTotals.1m',
      value: mean(counters),
      unit: 'ms',
      p99_ms: percentile(counters, 99),
      baseline: 'GROUP BY over the photos table',
      baseline_value: mean(grouped),
      stores_per_s_with_counters: Math.round(withTriggers),
      stores_per_s_without_counters: Math.round(withoutTriggers),
      stores_ratio: Number((withTriggers / withoutTriggers).toFixed(2)),
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
