// Issue 13, item 4: a slow search must not stall other calls. The SQLite
// catalog's searches run on search threads, each bounded by
// STORAGED_SEARCH_TIMEOUT_MS. A real daemon (in this process, so the tests
// can see its threads) over a real SQLite file holding one large tenant:
// `i` with a size sort matches and sorts every one of its rows, which takes
// hundreds of milliseconds even on a fast machine.

import * as assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/daemon/db/catalog';
import { indexAllPhotoWords } from '../../src/daemon/db/photo-words';
import { createLogger } from '../../src/daemon/logger';
import { StorageError } from '../../src/protocol/errors';
import { RemoteClient } from '../../src/remote-client';
import { storageErrorOf } from '../support/expect-code';
import { pngBytes } from '../support/image-bytes';
import { startTestDaemon, type TestDaemon } from '../support/in-process-daemon';
import { tempDir } from '../support/temp-dir';

const BIG_ROWS = 200_000;
/** Every row of the big tenant has a word starting with `i`, and the size sort cannot use an index. */
const BROAD = { query: 'i', limit: 1000, sort: { field: 'size', order: 'desc' } } as const;

/** The catalog file the daemon will open: BIG_ROWS committed photos of `big`, search words included. */
function fillCatalog(file: string): void {
  Catalog.open({ path: file, logger: createLogger('silent') }).close();
  const db = new Database(file);
  db.pragma('synchronous = OFF');
  const insert = db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size, checksum,
      metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (?, 'big', ?, NULL, ?, 'image/jpeg', 'images', ?, ?, ?, '{}', 'committed', ?, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < BIG_ROWS; i++) {
      const id = randomUUID();
      const at = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
      insert.run(id, `user-${i % 100}`, `img${i % 97} holiday n${i}.jpg`, `storaged/${id}.jpg`, 1000 + ((i * 7919) % 100_000), 'ab'.repeat(32), at, at, at, at);
    }
  })();
  indexAllPhotoWords(db);
  db.close();
}

interface Setup {
  daemon: TestDaemon;
  threads: NonNullable<Catalog['searchThreads']>;
  tokens: Record<'big' | 'small' | 'ops', string>;
}

async function startDaemon(t: TestContext, env: Record<string, string>): Promise<Setup> {
  const dir = tempDir(t);
  fillCatalog(path.join(dir, 'storage.db'));
  const tokens = { big: randomBytes(24).toString('base64url'), small: randomBytes(24).toString('base64url'), ops: randomBytes(24).toString('base64url') };
  const daemon = await startTestDaemon(t, null, {
    dataDir: dir,
    env: { STORAGED_TOKENS: `${tokens.big} big;${tokens.small} small;${tokens.ops} ops admin`, LOG_LEVEL: 'warn', ...env },
  });
  const catalog = daemon.daemon.catalog;
  assert.ok(catalog instanceof Catalog && catalog.searchThreads !== null, 'the daemon runs SQLite searches on search threads');
  return { daemon, threads: catalog.searchThreads, tokens };
}

function remote(t: TestContext, setup: Setup, clientId: 'big' | 'small'): RemoteClient {
  const client = new RemoteClient({ url: setup.daemon.daemon.httpUrl!, token: setup.tokens[clientId] });
  t.after(() => client.close());
  return client;
}


test('a search past STORAGED_SEARCH_TIMEOUT_MS is VALIDATION on both doors, and the daemon keeps serving', { timeout: 300_000 }, async (t) => {
  const setup = await startDaemon(t, { STORAGED_SEARCH_TIMEOUT_MS: '100' });
  const big = setup.daemon.client('big', { cacheConfig: { enabled: false } });
  const small = setup.daemon.client('small', { cacheConfig: { enabled: false } });
  const own = await small.storePhoto(pngBytes(500), { originalName: 'sunset.png', clientId: 'small' });

  const bySocket = await storageErrorOf(big.searchPhotos(BROAD));
  const byGateway = await storageErrorOf(remote(t, setup, 'big').searchPhotos(BROAD));
  for (const [door, err] of [['socket', bySocket], ['gateway', byGateway]] as const) {
    assert.equal(err.code, 'VALIDATION', `${door}: ${err.message}`);
    assert.equal(err.retryable, false, door);
    assert.match(err.message, /ran longer than 100 ms.*STORAGED_SEARCH_TIMEOUT_MS.*narrow it/, door);
    assert.equal(err.details?.limit, 100, door);
  }
  assert.ok(setup.threads.stats().timedOut >= 2, `timed out: ${setup.threads.stats().timedOut}`);
  const metrics = await fetch(`${setup.daemon.daemon.httpUrl}/metrics`, { headers: { authorization: `Bearer ${setup.tokens.ops}` } });
  assert.equal(metrics.status, 200);
  const timedOut = /^storaged_search_timed_out_total (\d+)$/m.exec(await metrics.text());
  assert.ok(timedOut !== null && Number(timedOut[1]) >= 2, `storaged_search_timed_out_total in /metrics: ${timedOut?.[0]}`);

  // Everyone is still served, the big tenant's narrow searches too, on the same threads.
  assert.equal((await small.getPhoto(own.id)).id, own.id);
  assert.deepEqual((await small.searchPhotos({ query: 'sunset' })).photos.map((p) => p.id), [own.id]);
  assert.equal((await remote(t, setup, 'small').searchPhotos({ query: 'sun' })).total, 1);
  assert.equal((await big.searchPhotos({ query: 'n123456', limit: 5 })).total, 1);
  assert.equal(setup.threads.stats().threadsLost, 0, 'the check inside SQLite stopped the searches; no thread was terminated');
});

test('while a long search runs on its thread, another client\'s getPhoto calls are answered', { timeout: 300_000 }, async (t) => {
  // Bound far off: this search must finish, however busy the machine.
  const setup = await startDaemon(t, { STORAGED_SEARCH_TIMEOUT_MS: '600000' });
  const big = setup.daemon.client('big', { cacheConfig: { enabled: false } });
  const small = setup.daemon.client('small', { cacheConfig: { enabled: false } });
  const own = await small.storePhoto(pngBytes(500), { originalName: 'sunset.png', clientId: 'small' });

  let searching = true;
  let answeredDuringSearch = 0;
  let answered = 0;
  let longestGapMs = 0;
  const reader = (async () => {
    let last = performance.now();
    while (searching) {
      assert.equal((await small.getPhoto(own.id)).id, own.id);
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
      answered++;
      // Counted only while the daemon's search thread holds the search.
      if (setup.threads.stats().running > 0) answeredDuringSearch++;
    }
  })();
  const started = performance.now();
  const result = await big.searchPhotos(BROAD);
  const searchMs = performance.now() - started;
  searching = false;
  await reader;

  assert.equal(result.total, BIG_ROWS);
  // Cut at 512 KiB of answer, short of the 1,000 asked for.
  assert.ok(result.photos.length > 0 && result.page.hasMore);
  t.diagnostic(`search ${searchMs.toFixed(0)} ms; ${answered} getPhoto answered meanwhile, ${answeredDuringSearch} while the thread ran it; longest gap between answers ${longestGapMs.toFixed(1)} ms`);
  assert.ok(answeredDuringSearch >= 10, `getPhoto answered while the search ran: ${answeredDuringSearch}`);
});

test('a search sees every write acknowledged before it (its thread has its own connection to the WAL file)', { timeout: 300_000 }, async (t) => {
  const setup = await startDaemon(t, {});
  const small = setup.daemon.client('small', { cacheConfig: { enabled: false } });
  const gateway = remote(t, setup, 'small');
  for (let i = 0; i < 20; i++) {
    const word = `fresh${i}x${randomBytes(4).toString('hex')}`;
    const stored = await small.storePhoto(pngBytes(300 + i), { originalName: `${word}.png`, clientId: 'small', userId: 'reader' });
    assert.deepEqual((await small.searchPhotos({ query: word })).photos.map((p) => p.id), [stored.id], `store ${i}, socket`);
    assert.deepEqual((await gateway.searchPhotos({ query: word })).photos.map((p) => p.id), [stored.id], `store ${i}, gateway`);
    await small.updatePhotoMetadata(stored.id, { original_filename: `renamed${word}.png` });
    assert.equal((await small.searchPhotos({ query: `renamed${word}` })).total, 1, `rename ${i}`);
    assert.equal((await small.searchPhotos({ query: word })).total, 0, `old name ${i}`);
    await small.deletePhoto(stored.id);
    assert.equal((await small.searchPhotos({ query: `renamed${word}` })).total, 0, `delete ${i}`);
    assert.equal((await small.getUserPhotos('reader')).pagination.total, 0, `listing after delete ${i}`);
  }

  // The same, counted on the search threads, where a search checks every one of the tenant's rows.
  const big = setup.daemon.client('big', { cacheConfig: { enabled: false } });
  const onThreads = setup.threads.stats().searches;
  for (let i = 0; i < 5; i++) {
    const user = `fresh-user-${i}`;
    // `i` is a prefix of every one of the tenant's 200,000 rows: the filter is checked row by row.
    const search = { query: 'i', filters: { user_id: user } };
    assert.equal((await big.searchPhotos(search)).total, 0);
    const stored = await big.storePhoto(pngBytes(700 + i), { originalName: `item-${i}.png`, clientId: 'big', userId: user });
    assert.deepEqual((await big.searchPhotos(search)).photos.map((p) => p.id), [stored.id], `store ${i}, on a thread`);
    await big.deletePhoto(stored.id);
    assert.equal((await big.searchPhotos(search)).total, 0, `delete ${i}, on a thread`);
  }
  assert.equal(setup.threads.stats().searches - onThreads, 15, 'every one of those searches ran on a search thread');
});

test('a search thread that stops mid-search fails that search with UNAVAILABLE; the daemon goes on and replaces it', { timeout: 300_000 }, async (t) => {
  const setup = await startDaemon(t, { STORAGED_SEARCH_TIMEOUT_MS: '600000' });
  const big = setup.daemon.client('big', { cacheConfig: { enabled: false } });
  const small = setup.daemon.client('small', { cacheConfig: { enabled: false } });
  const own = await small.storePhoto(pngBytes(500), { originalName: 'sunset.png', clientId: 'small' });

  const search = storageErrorOf(big.searchPhotos(BROAD));
  while (setup.threads.stats().running === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const before = setup.threads.workers();
  // Termination takes effect at the search's next deadline check, inside its statement.
  await Promise.all(before.map((worker) => worker.terminate()));
  const err = await search;
  assert.equal(err.code, 'UNAVAILABLE', err.message);
  assert.equal(err.retryable, true);

  assert.equal((await small.getPhoto(own.id)).id, own.id);
  assert.equal((await small.searchPhotos({ query: 'sunset' })).total, 1, 'a new thread serves the next search');
  assert.equal((await big.searchPhotos({ query: 'n123456' })).total, 1);
  // A thread stopped before it had started (it may still have been opening the file) is replaced a second later.
  while (setup.threads.workers().length < before.length) await new Promise((resolve) => setTimeout(resolve, 20));
  const after = setup.threads.workers();
  assert.equal(after.length, before.length);
  assert.ok(after.every((worker) => !before.includes(worker)), 'every thread was replaced');
  assert.ok(setup.threads.stats().threadsLost >= before.length);
});

test('searches wait their turn for a thread: past the waiting bound, or waiting longer than the time bound, they are refused UNAVAILABLE', { timeout: 300_000 }, async (t) => {
  const file = path.join(tempDir(t), 'storage.db');
  fillCatalog(file);
  const catalog = Catalog.open({ path: file, logger: createLogger('silent'), searchThreads: { threads: 1, timeoutMs: 50, maxWaiting: 2 } });
  t.after(() => catalog.close());

  // Once the thread has started (its first search stops at the bound too)...
  assert.equal((await storageErrorOf(catalog.search('big', BROAD))).code, 'VALIDATION');
  // ...one runs (until its bound), two wait, the fourth finds no room.
  const [first, second, third, fourth] = await Promise.all([0, 1, 2, 3].map(() => storageErrorOf(catalog.search('big', BROAD))));
  assert.equal(first!.code, 'VALIDATION', first!.message);
  assert.equal(fourth!.code, 'UNAVAILABLE', fourth!.message);
  assert.equal(fourth!.retryable, true);
  assert.match(fourth!.message, /2 searches waiting for its 1 search threads \(STORAGED_SEARCH_THREADS\); retry shortly/);
  // The two that waited: whichever did not run waited a whole bound or more (the daemon is busy: retryable);
  // one that ran stopped at its own bound. Both cannot have run: the third would have waited two bounds.
  const waited = [second!, third!].filter((err) => err.code === 'UNAVAILABLE');
  assert.ok(waited.length >= 1, `${second!.message} / ${third!.message}`);
  for (const err of waited) {
    assert.equal(err.retryable, true);
    assert.match(err.message, /waited \d+ ms for one of storaged's 1 search threads/);
  }
  for (const err of [second!, third!]) assert.ok(['VALIDATION', 'UNAVAILABLE'].includes(err.code), err.message);
  assert.equal((await catalog.search('big', { query: 'n123456' })).total, 1);
});

test('search threads start when searches come and leave after a quiet spell; the next search starts one again', async (t) => {
  const file = path.join(tempDir(t), 'storage.db');
  const catalog = Catalog.open({ path: file, logger: createLogger('silent'), searchThreads: { threads: 2, timeoutMs: 5000, idleMs: 300 } });
  t.after(() => catalog.close());
  const threads = catalog.searchThreads!;
  assert.equal(threads.stats().threads, 0, 'no thread before the first search');
  assert.equal(threads.workers().length, 0);

  // The second search arrives while the first thread is starting: it gets a thread of its own.
  const pages = await Promise.all([catalog.search('a', { query: 'sunset' }), catalog.search('b', { query: 'beach' })]);
  assert.deepEqual(pages.map((page) => page.total), [0, 0]);
  assert.equal(threads.stats().threads, 2);
  const first = threads.workers();

  const exited = first.map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())));
  // Idle threads and their timers keep no process alive: this one waits with a timer of its own.
  const keepAlive = setInterval(() => {}, 50);
  await Promise.all(exited).finally(() => clearInterval(keepAlive));
  assert.equal(threads.stats().threads, 0, 'idle threads left');
  assert.equal(threads.stats().threadsLost, 0, 'leaving idle is not a lost thread');

  assert.equal((await catalog.search('a', { query: 'sunset' })).total, 0);
  assert.equal(threads.stats().threads, 1, 'one search started one thread again');
  assert.ok(threads.workers().every((worker) => !first.includes(worker)));
});

test('one tenant\'s flood of broad searches does not hold another tenant\'s search behind it: threads go to the tenant with the fewest running', { timeout: 300_000 }, async (t) => {
  const file = path.join(tempDir(t), 'storage.db');
  fillCatalog(file);
  // With one thread every tenant has none running when it frees: then the tenant served longest ago goes next.
  for (const threads of [1, 2]) {
    // Bound far off: every search here runs to its end, so only the order of answers tells.
    const catalog = Catalog.open({ path: file, logger: createLogger('silent'), searchThreads: { threads, timeoutMs: 600_000 } });
    try {
      // A tenant alone gets every thread.
      let mostRunning = 0;
      let done = false;
      const alone = Promise.all([0, 1].map(() => catalog.search('big', BROAD))).finally(() => (done = true));
      while (!done) {
        mostRunning = Math.max(mostRunning, catalog.searchThreads!.stats().running);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.deepEqual((await alone).map((page) => page.total), [BIG_ROWS, BIG_ROWS]);
      assert.equal(mostRunning, threads, `${threads} thread(s): most searches running at once`);

      const answered: string[] = [];
      const flood = [0, 1, 2, 3, 4, 5].map((i) =>
        catalog.search('big', BROAD).then(
          (page) => {
            answered.push(`big ${i}`);
            assert.equal(page.total, BIG_ROWS);
          },
          // Those still waiting when the catalog closes below.
          (err: unknown) => assert.ok(err instanceof StorageError && err.code === 'CLOSED', String(err)),
        ),
      );
      const page = await catalog.search('small', { query: 'sunset' });
      answered.push('small');
      assert.equal(page.total, 0);
      // Small's search takes the first thread that frees (on two, big's first two end together: they started
      // together). In order of arrival, it waited until all six of big's (or five, on two threads) were answered.
      assert.ok(answered.indexOf('small') <= threads, `${threads} thread(s), answered in this order: ${answered.join(', ')}`);
      await catalog.close();
      await Promise.all(flood);
    } finally {
      await catalog.close();
    }
  }
});

test('a full queue of one tenant\'s searches makes room for another tenant\'s: its newest waiting search is refused UNAVAILABLE instead', { timeout: 300_000 }, async (t) => {
  const file = path.join(tempDir(t), 'storage.db');
  fillCatalog(file);
  // Bound far off: no search here stops at it, so only the queue's choices tell.
  const catalog = Catalog.open({ path: file, logger: createLogger('silent'), searchThreads: { threads: 1, timeoutMs: 600_000, maxWaiting: 2 } });
  t.after(() => catalog.close());
  // The thread has started: big's first search runs at once, the next two fill the queue.
  assert.equal((await catalog.search('small', { query: 'sunset' })).total, 0);
  const answered: string[] = [];
  const outcome = (who: string, promise: Promise<{ total: number }>) =>
    promise.then(
      (page) => {
        answered.push(who);
        return page.total;
      },
      (err: unknown) => {
        assert.ok(err instanceof StorageError, String(err));
        return err;
      },
    );
  const big = [0, 1, 2].map((i) => outcome(`big ${i}`, catalog.search('big', BROAD)));
  // A fourth of big's finds the queue full of its own: refused.
  const bigFourth = await outcome('big 3', catalog.search('big', BROAD));
  const small = outcome('small', catalog.search('small', { query: 'sunset' }));
  const [first, second, third] = await Promise.all(big);
  assert.ok(bigFourth instanceof StorageError && bigFourth.code === 'UNAVAILABLE', String(bigFourth));
  assert.equal(await small, 0, 'small\'s search was let in and answered');
  assert.equal(first, BIG_ROWS);
  assert.equal(second, BIG_ROWS);
  // big's newest waiting search gave small its place, with the same retryable refusal as a full queue.
  for (const refused of [third, bigFourth]) {
    assert.ok(refused instanceof StorageError, String(refused));
    assert.equal(refused.code, 'UNAVAILABLE');
    assert.equal(refused.retryable, true);
    assert.match(refused.message, /2 searches waiting for its 1 search threads \(STORAGED_SEARCH_THREADS\); retry shortly/);
  }
  // And went before big's older one: when the thread freed, neither ran a search, and big had just been served.
  assert.deepEqual(answered, ['big 0', 'small', 'big 1']);
});
