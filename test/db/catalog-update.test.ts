import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, NotFoundError, ValidationError } from '../../src/protocol/errors';
import { PROCESSING_STATUSES, type ProcessingStatus } from '../../src/protocol/types';
import type { Catalog } from '../../src/daemon/db/catalog';
import { addCommitted, newRow, openTestCatalog } from './catalog-fixture';

const VALID: ReadonlyArray<[ProcessingStatus, ProcessingStatus]> = [
  ['queued', 'in_progress'],
  ['queued', 'cancelled'],
  ['in_progress', 'completed'],
  ['in_progress', 'failed'],
  ['in_progress', 'cancelled'],
];

/** The shortest valid path from queued to each status. */
const PATH_TO: Record<ProcessingStatus, ProcessingStatus[]> = {
  queued: [],
  in_progress: ['in_progress'],
  completed: ['in_progress', 'completed'],
  failed: ['in_progress', 'failed'],
  cancelled: ['cancelled'],
};

async function photoWithStatus(catalog: Catalog, status: ProcessingStatus): Promise<string> {
  const photo = await addCommitted(catalog);
  for (const step of PATH_TO[status]) await catalog.updateMetadata('client-a', photo.id, { processing_status: step });
  return photo.id;
}

test('processing_status follows its transition table, every pair', async (t) => {
  const { catalog } = openTestCatalog(t);
  for (const from of PROCESSING_STATUSES) {
    for (const to of PROCESSING_STATUSES) {
      const id = await photoWithStatus(catalog, from);
      const attempt = catalog.updateMetadata('client-a', id, { processing_status: to });
      if (VALID.some(([a, b]) => a === from && b === to)) {
        assert.equal((await attempt).processing_status, to, `${from} → ${to} should be allowed`);
      } else {
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(err instanceof ConflictError, `${from} → ${to} should be refused`);
          assert.equal(err.message, `cannot change processing_status from ${from} to ${to}`);
          return true;
        });
        assert.equal((await catalog.getPhoto('client-a', id))!.processing_status, from);
      }
    }
  }
});

test('starting and finishing processing stamp their times unless the patch gives them', async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog);
  const started = await catalog.updateMetadata('client-a', photo.id, { processing_status: 'in_progress' });
  assert.ok(started.processing_started_at !== null && started.processing_started_at >= photo.updated_at);
  assert.equal(started.processing_completed_at, null);

  const done = await catalog.updateMetadata('client-a', photo.id, {
    processing_status: 'completed',
    processing_completed_at: '2030-01-02T03:04:05+01:00',
    processing_metadata: { thumbnails: ['s', 'm'], faces: 2 },
  });
  assert.equal(done.processing_completed_at, '2030-01-02T02:04:05.000Z');
  assert.equal(done.processing_started_at, started.processing_started_at);
  assert.deepEqual(done.processing_metadata, { thumbnails: ['s', 'm'], faces: 2 });
});

test('an update bumps updated_at and replaces metadata', async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog, { metadata: { a: '1', b: '2' } });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const updated = await catalog.updateMetadata('client-a', photo.id, { metadata: { c: '3' }, width: 640, height: 480, user_id: null });
  assert.ok(updated.updated_at > photo.updated_at);
  assert.deepEqual(updated.metadata, { c: '3' });
  assert.equal(updated.width, 640);
  assert.equal(updated.user_id, null);
  assert.equal(updated.created_at, photo.created_at);
});

test('fields outside the whitelist are refused, naming the allowed ones', async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog);
  for (const field of ['client_id', 'state', 'id', 's3_key', 'checksum', 'updated_at', 'size; DROP TABLE photos']) {
    await assert.rejects(catalog.updateMetadata('client-a', photo.id, { [field]: 'x' }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, new RegExp(`unknown field "${field.replace(/[;()]/g, '.')}"; allowed fields: original_filename, user_id`));
      return true;
    });
  }
  assert.equal((await catalog.getPhoto('client-a', photo.id))!.client_id, 'client-a');
});

test('bad patches are refused with a message naming the field', async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog);
  const cases: Array<[unknown, RegExp]> = [
    [{}, /patch must set at least one of/],
    [null, /patch must be an object/],
    [['original_filename'], /patch must be an object/],
    [{ original_filename: 'a/b.jpg' }, /patch\.original_filename must not contain a path separator/],
    [{ original_filename: '..' }, /patch\.original_filename/],
    [{ original_filename: 'bad\u0007name.jpg' }, /patch\.original_filename/],
    [{ original_filename: `${'a'.repeat(252)}.jpg` }, /at most 255 bytes/],
    [{ original_filename: 'photo\u202Egpj.exe' }, /patch\.original_filename must not contain a control or direction-changing character/],
    [{ original_filename: null }, /patch\.original_filename/],
    [{ user_id: 'u'.repeat(129) }, /patch\.user_id must be a non-empty string of at most 128/],
    [{ session_id: 7 }, /patch\.session_id/],
    [{ width: -1 }, /patch\.width must be a non-negative integer/],
    [{ height: 1.5 }, /patch\.height must be a non-negative integer/],
    [{ duration: '10' }, /patch\.duration/],
    [{ processing_status: 'done' }, /patch\.processing_status must be one of queued, in_progress/],
    [{ processing_error: 42 }, /patch\.processing_error/],
    [{ processing_started_at: '2024-02-30T00:00:00Z' }, /patch\.processing_started_at must be an ISO-8601 timestamp/],
    [{ processing_started_at: 'yesterday' }, /patch\.processing_started_at must be an ISO-8601 timestamp/],
    [{ processing_metadata: 'x'.repeat(64 * 1024) }, /patch\.processing_metadata must be at most 65536 bytes/],
    [{ processing_metadata: 10n }, /patch\.processing_metadata must be a JSON value/],
    [{ metadata: { n: 1 } }, /patch\.metadata\.n must be a string/],
    [{ metadata: 'text' }, /patch\.metadata must be an object/],
    [{ metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, /at most 64 keys/],
    [{ metadata: { ['k'.repeat(129)]: 'v' } }, /keys must be 1 to 128 characters/],
    [{ metadata: { k: 'v'.repeat(1025) } }, /patch\.metadata\.k must be at most 1024 characters/],
  ];
  for (const [patch, message] of cases) {
    await assert.rejects(catalog.updateMetadata('client-a', photo.id, patch), (err: unknown) => {
      assert.ok(err instanceof ValidationError, `${JSON.stringify(patch, (_, v) => (typeof v === 'bigint' ? 'bigint' : v))}: ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  }
  assert.deepEqual(await catalog.getPhoto('client-a', photo.id), photo);
});

test('only committed photos can be updated', async (t) => {
  const { catalog } = openTestCatalog(t);
  const pending = newRow();
  await catalog.insertPending(pending);
  await assert.rejects(catalog.updateMetadata('client-a', pending.id, { width: 1 }), NotFoundError);
  const deleting = await addCommitted(catalog);
  await catalog.markDeleting('client-a', deleting.id);
  await assert.rejects(catalog.updateMetadata('client-a', deleting.id, { width: 1 }), NotFoundError);
  await assert.rejects(catalog.updateMetadata('client-a', 'no-such-id', { width: 1 }), { message: 'photo no-such-id not found' });
});
