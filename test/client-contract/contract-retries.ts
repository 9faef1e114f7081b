// Idempotent stores, retries and per-call control on either transport. Lost
// answers are made by holding the daemon's answer past the call's timeout;
// rows are counted in the daemon's own SQLite file.

import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { BUCKETS } from '../../src/protocol/types';
import { pngBytes } from '../support/image-bytes';
import { waitFor } from '../support/wait-for';
import type { ContractCheck, ContractEnv } from './client-contract';
import { probeCoordinator } from './daemon-probe';
import { catalogRows, type CatalogRows } from '../support/catalog-rows';

function catalogFile(t: TestContext, env: ContractEnv): CatalogRows {
  return catalogRows(t, env.daemon.daemon.config);
}

function rowsWithKey(db: CatalogRows, key: string): Promise<Array<{ id: string; state: string }>> {
  return db.all('SELECT id, state FROM photos WHERE idempotency_key = ?', key);
}

async function objectCount(env: ContractEnv): Promise<number> {
  let n = 0;
  for (const bucket of BUCKETS) {
    if (!(await env.minio.client.bucketExists(bucket))) continue;
    for await (const _ of env.minio.client.listObjectsV2(bucket, '', true)) n++;
  }
  return n;
}

const FAST_RETRY = { retries: 4, minDelayMs: 5, maxDelayMs: 20, deadlineMs: 10_000 };

export const retryChecks: Record<string, ContractCheck> = {
  'idempotency: a repeated key is answered with the first result, one row; another body or name under it is CONFLICT': async (t, env) => {
    const db = catalogFile(t, env);
    const client = env.client('acme');
    const body = pngBytes(3100);
    const options = { originalName: 'once.png', clientId: 'acme', userId: 'idem-user', idempotencyKey: `once-${Date.now()}` };
    const first = await client.storePhoto(body, options);
    const again = await client.storePhoto(Buffer.from(body), { ...options });
    assert.equal(again.id, first.id);
    assert.deepEqual({ ...again, s3_url: '' }, { ...first, s3_url: '' });
    assert.deepEqual(await rowsWithKey(db, options.idempotencyKey), [{ id: first.id, state: 'committed' }]);

    await assert.rejects(client.storePhoto(pngBytes(3101), options), { code: 'CONFLICT' });
    await assert.rejects(client.storePhoto(body, { ...options, originalName: 'other.png' }), { code: 'CONFLICT' });
    await assert.rejects(client.storePhoto(body, { ...options, metadata: { a: 'b' } }), { code: 'CONFLICT' });
    assert.equal((await rowsWithKey(db, options.idempotencyKey)).length, 1);
    // The key is the client's own: another tenant's same key stores its own photo.
    const rival = await env.client('rival').storePhoto(body, { ...options, clientId: 'rival' });
    assert.notEqual(rival.id, first.id);

    // Stores sent at once under one key: the repeats wait for the first, and all get its photo.
    const key = `together-${Date.now()}`;
    const together = pngBytes(3102);
    const results = await Promise.all([0, 1, 2].map(() => client.storePhoto(together, { ...options, idempotencyKey: key })));
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal((await rowsWithKey(db, key)).length, 1);
    await assert.rejects(client.storePhoto(body, { ...options, idempotencyKey: 'has space' }), { code: 'VALIDATION' });
  },
  'idempotency: a repeat of a store whose photo was deleted since is CONFLICT, and stores nothing': async (t, env) => {
    const db = catalogFile(t, env);
    const client = env.client('acme', { cacheConfig: { enabled: false } });
    const body = pngBytes(3150);
    const options = { originalName: 'gone.png', clientId: 'acme', idempotencyKey: `gone-${Date.now()}` };
    const first = await client.storePhoto(body, options);
    await client.deletePhoto(first.id);
    const objects = await objectCount(env);
    const err = await client.storePhoto(Buffer.from(body), { ...options }).then(
      () => assert.fail('a repeat of a deleted store was answered as stored'),
      (e: unknown) => e as { code?: string; message?: string; retryable?: boolean },
    );
    assert.equal(err.code, 'CONFLICT');
    assert.equal(err.retryable, false);
    assert.match(err.message ?? '', /has been deleted since; nothing was stored: use a new key/);
    assert.ok(err.message?.includes(first.id), 'the message names the deleted photo');
    await assert.rejects(client.getPhoto(first.id), { code: 'NOT_FOUND' }, 'not brought back');
    assert.deepEqual(await rowsWithKey(db, options.idempotencyKey), []);
    assert.equal(await objectCount(env), objects, 'no object left behind');
    // A new key stores it again.
    const again = await client.storePhoto(body, { ...options, idempotencyKey: `${options.idempotencyKey}-2` });
    assert.notEqual(again.id, first.id);
  },
  'idempotency: every store carries a key, so one whose answer was lost is retried and stored once': async (t, env) => {
    const db = catalogFile(t, env);
    const probe = probeCoordinator(t, env.daemon);
    const client = env.client('acme', { retry: FAST_RETRY, cacheConfig: { enabled: false } });
    probe.holdAnswers('storePhoto', 1500);
    const stored = await client.storePhoto(pngBytes(3200), { originalName: 'lost-answer.png', clientId: 'acme' }, { timeoutMs: 400 });
    assert.equal(probe.calls('storePhoto'), 2, 'one timed-out try, one retry');
    const key = (await db.value('SELECT idempotency_key FROM photos WHERE id = ?', stored.id)) as string;
    assert.match(key, /^[0-9a-f-]{36}$/, 'a key the client made');
    assert.deepEqual(await rowsWithKey(db, key), [{ id: stored.id, state: 'committed' }]);
    assert.equal(await db.value("SELECT count(*) FROM photos WHERE original_filename = 'lost-answer.png'"), 1);
  },
  'retries: safe calls are tried again after a retryable error; retry false fails at once': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const [id] = [(await env.client('acme').storePhoto(pngBytes(3300), { originalName: 'retried.png', clientId: 'acme' })).id];
    const client = env.client('acme', { retry: FAST_RETRY, cacheConfig: { enabled: false } });
    probe.holdAnswers('getPhoto', 600);
    assert.equal((await client.getPhoto(id, { timeoutMs: 150 })).id, id);
    assert.equal(probe.calls('getPhoto'), 2);

    const once = env.client('acme', { retry: false, cacheConfig: { enabled: false } });
    probe.holdAnswers('getPhoto', 600);
    await assert.rejects(once.getPhoto(id, { timeoutMs: 150 }), { code: 'TIMEOUT' });
    assert.equal(probe.calls('getPhoto'), 3);
    await assert.rejects(client.getPhoto('00000000-0000-4000-8000-000000000000'), { code: 'NOT_FOUND' });
    assert.equal(probe.calls('getPhoto'), 4, 'NOT_FOUND is not retryable');

    // A delete whose answer was lost: the retry finds it gone, and the delete stands.
    probe.holdAnswers('deletePhoto', 600);
    await client.deletePhoto(id, { timeoutMs: 150 });
    assert.equal(probe.calls('deletePhoto'), 2);
    await assert.rejects(client.getPhoto(id), { code: 'NOT_FOUND' });
  },
  // A status change is a transition, not a plain set: its retry after a lost
  // answer found the photo already moved and was answered CONFLICT ("from
  // in_progress to in_progress"), so a change that was made came back as failed.
  'retries: a status change whose answer was lost is not reported as CONFLICT, and the rest of its patch stands': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const { id } = await env.client('acme').storePhoto(pngBytes(3350), { originalName: 'claimed.png', clientId: 'acme' });
    const client = env.client('acme', { retry: FAST_RETRY, cacheConfig: { enabled: false } });
    probe.holdAnswers('updatePhotoMetadata', 600);
    const started = await client.updatePhotoMetadata(id, { processing_status: 'in_progress', width: 640 }, { timeoutMs: 150 });
    assert.equal(started.processing_status, 'in_progress');
    assert.equal(started.width, 640);
    assert.equal(started.id, id);
    assert.ok(probe.calls('updatePhotoMetadata') >= 2, 'the lost answer was retried');
    probe.holdAnswers('updatePhotoMetadata', 600);
    const done = await client.updatePhotoMetadata(id, { processing_status: 'completed' }, { timeoutMs: 150 });
    assert.equal(done.processing_status, 'completed');
    assert.equal(done.width, 640);
    assert.equal((await client.getPhoto(id)).processing_status, 'completed');
    // A change the photo's status does not allow is still CONFLICT, retried or not.
    await assert.rejects(client.updatePhotoMetadata(id, { processing_status: 'in_progress' }), { code: 'CONFLICT' });
  },
  'per-call control: an aborted store stores nothing; an aborted signal sends nothing': async (t, env) => {
    const db = catalogFile(t, env);
    const probe = probeCoordinator(t, env.daemon);
    const client = env.client('acme', { retry: FAST_RETRY });
    const objects = await objectCount(env);
    const controller = new AbortController();
    const body = new PassThrough();
    body.write(pngBytes(300 * 1024)); // past the spool threshold: a spool file exists when the abort comes
    const storing = client.storePhoto(body, { originalName: 'aborted.png', clientId: 'acme' }, { signal: controller.signal });
    await waitFor(() => probe.calls('storePhoto') === 1, 'the store to reach the daemon', 5000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reason = new Error('the user cancelled');
    controller.abort(reason);
    await assert.rejects(storing, (err) => err === reason);
    assert.ok(body.destroyed, 'the caller\'s stream is destroyed, as pipeline would');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await db.value("SELECT count(*) FROM photos WHERE original_filename = 'aborted.png'"), 0);
    assert.equal(await objectCount(env), objects, 'no object was left');
    assert.equal(probe.calls('storePhoto'), 1, 'an abort is not retried');

    const aborted = AbortSignal.abort();
    await assert.rejects(client.getPhoto('x', { signal: aborted }), { name: 'AbortError' });
    await assert.rejects(client.storePhoto(pngBytes(100), { originalName: 'never.png', clientId: 'acme' }, { signal: aborted }), {
      name: 'AbortError',
    });
    assert.equal(probe.calls('storePhoto'), 1);
    assert.equal(probe.calls('getPhoto'), 0);
    await assert.rejects(client.getPhoto('x', { timeoutMs: -1 }), RangeError);
  },
};
