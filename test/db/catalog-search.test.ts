import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../src/protocol/errors';
import { addCommitted, openTestCatalog, testOnBothEngines } from './catalog-fixture';
import { assertWordsInStep } from './search-words-check';

const ids = (result: { photos: Array<{ id: string }> }) => result.photos.map((p) => p.id).sort();

testOnBothEngines('full text finds a photo by any word of its filename, by prefix, and by MIME type', async (_t, { catalog }) => {
  const beach = await addCommitted(catalog, { original_filename: 'beach-sunset_2024.jpg' });
  const dog = await addCommitted(catalog, { original_filename: 'Dog.png', mime_type: 'image/png' });

  for (const query of ['beach', 'sunset', '2024', 'sun', 'BEA', 'beach jpg', ' Sunset ']) {
    assert.deepEqual(ids(await catalog.search('client-a', { query })), [beach.id], query);
  }
  assert.deepEqual(ids(await catalog.search('client-a', { query: 'png' })), [dog.id]);
  assert.deepEqual(ids(await catalog.search('client-a', { query: 'image' })), [beach.id, dog.id].sort());
  assert.equal((await catalog.search('client-a', { query: 'mountain' })).total, 0);
  assert.equal((await catalog.search('client-a', { query: 'beach dog' })).total, 0, 'words are ANDed');
  assert.equal((await catalog.search('client-a', { query: '' })).total, 2, 'empty text means no text condition');
});

testOnBothEngines('the full-text index follows renames and deletes', async (_t, { catalog }) => {
  const photo = await addCommitted(catalog, { original_filename: 'beach.jpg' });
  await catalog.updateMetadata('client-a', photo.id, { original_filename: 'mountain.jpg' });
  assert.equal((await catalog.search('client-a', { query: 'beach' })).total, 0);
  assert.equal((await catalog.search('client-a', { query: 'mountain' })).total, 1);

  await catalog.updateMetadata('client-a', photo.id, { width: 10 });
  assert.equal((await catalog.search('client-a', { query: 'mountain' })).total, 1);

  await catalog.markDeleting('client-a', photo.id);
  await catalog.deleteRow(photo.id);
  await addCommitted(catalog, { original_filename: 'other.jpg' });
  assert.equal((await catalog.search('client-a', { query: 'mountain' })).total, 0);
});

test('the search words still point at the right photos after deletes and VACUUM', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const photos = [];
  for (const name of ['alpha.jpg', 'bravo.jpg', 'charlie.jpg', 'delta.jpg']) {
    photos.push(await addCommitted(catalog, { original_filename: name }));
  }
  for (const gone of photos.slice(0, 2)) {
    await catalog.markDeleting('client-a', gone.id);
    await catalog.deleteRow(gone.id);
  }
  raw().exec('VACUUM');
  assert.deepEqual(ids(await catalog.search('client-a', { query: 'delta' })), [photos[3]!.id]);
  assert.deepEqual(ids(await catalog.search('client-a', { query: 'charlie' })), [photos[2]!.id]);
  assertWordsInStep(raw());
});

testOnBothEngines('search text that looks like SQL or FTS syntax is only ever words', async (_t, { catalog, value }) => {
  await addCommitted(catalog, { original_filename: 'beach.jpg' });
  const hostile = [
    "'; DROP TABLE photos; --",
    'beach" OR "1"="1',
    'beach OR mountain',
    'NEAR(beach mountain)',
    'original_filename:beach',
    'mime_type : jpeg',
    '*',
    '"unbalanced',
    'beach) OR (1',
    '^beach',
    '\u0000beach',
  ];
  for (const query of hostile) {
    const result = await catalog.search('client-a', { query });
    assert.ok(result.total <= 1, query);
  }
  assert.equal((await catalog.search('client-a', { query: 'beach OR mountain' })).total, 0, 'OR is a word, not an operator');
  assert.equal((await catalog.search('client-a', { query: '"beach"' })).total, 1);
  assert.equal(await value('SELECT count(*) FROM photos'), 1);
});

testOnBothEngines('text with no word in it matches nothing; text over 256 characters is refused', async (_t, { catalog }) => {
  await addCommitted(catalog, { original_filename: 'beach.jpg' });
  assert.equal((await catalog.search('client-a', { query: '!!! --- ***' })).total, 0);
  await assert.rejects(async () => await catalog.search('client-a', { query: 'a'.repeat(257) }), {
    message: 'query must be a string of at most 256 characters',
  });
});

testOnBothEngines('filters narrow the results', async (_t, { catalog, exec }) => {
  const a = await addCommitted(catalog, { user_id: 'u1', mime_type: 'image/png' });
  const b = await addCommitted(catalog, { user_id: 'u2', mime_type: 'image/jpeg' });
  const c = await addCommitted(catalog, { user_id: 'u2', mime_type: 'image/webp' });
  await catalog.updateMetadata('client-a', c.id, { processing_status: 'in_progress' });
  const setUploaded = (at: string, id: string) => exec('UPDATE photos SET uploaded_at = ? WHERE id = ?', at, id);
  await setUploaded('2024-01-01T00:00:00.000Z', a.id);
  await setUploaded('2024-02-01T00:00:00.000Z', b.id);
  await setUploaded('2024-03-01T00:00:00.000Z', c.id);

  const search = async (filters: unknown) => ids(await catalog.search('client-a', { filters }));
  assert.deepEqual(await search({ user_id: 'u2' }), [b.id, c.id].sort());
  assert.deepEqual(await search({ mime_type: ['image/png', 'image/webp'] }), [a.id, c.id].sort());
  assert.deepEqual(await search({ processing_status: ['in_progress'] }), [c.id]);
  assert.deepEqual(await search({ processing_status: ['queued'], user_id: 'u2' }), [b.id]);
  assert.deepEqual(await search({ date_range: { start: '2024-01-15' } }), [b.id, c.id].sort());
  assert.deepEqual(await search({ date_range: { start: '2024-01-15', end: '2024-02-01T00:00:00Z' } }), [b.id]);
  assert.deepEqual(await search({ date_range: { end: '2024-01-01T01:00:00+01:00' } }), [a.id]);
  assert.deepEqual(await search({ client_id: 'client-a' }), [a.id, b.id, c.id].sort());
  assert.deepEqual(await search({ client_id: 'client-b' }), []);
});

testOnBothEngines('sort accepts only whitelisted fields and orders with ties broken by id', async (_t, { catalog }) => {
  const sizes = [30, 10, 20, 10];
  const photos = [];
  for (const size of sizes) photos.push(await addCommitted(catalog, { size }));

  const bySize = (await catalog.search('client-a', { sort: { field: 'size', order: 'asc' } })).photos;
  assert.deepEqual(bySize.map((p) => p.size), [10, 10, 20, 30]);
  assert.ok(bySize[0]!.id < bySize[1]!.id);
  const desc = (await catalog.search('client-a', { sort: { field: 'size', order: 'desc' } })).photos;
  assert.deepEqual(desc.map((p) => p.id), bySize.map((p) => p.id).reverse());

  for (const sort of [
    { field: 'size; DROP TABLE photos', order: 'asc' },
    { field: 'checksum', order: 'asc' },
    { field: 'size', order: 'sideways' },
    { field: 'size', order: 'asc', nulls: 'first' },
    'size',
  ]) {
    await assert.rejects(async () => await catalog.search('client-a', { sort }), ValidationError, JSON.stringify(sort));
  }
  await assert.rejects(async () => await catalog.search('client-a', { sort: { field: 'checksum' } }), {
    message: 'sort.field must be one of uploaded_at, created_at, updated_at, size, original_filename',
  });
  assert.equal((await catalog.search('client-a', {})).total, 4);
});

testOnBothEngines('malformed searches are refused with exact messages', async (_t, { catalog }) => {
  const cases: Array<[unknown, string]> = [
    [{ limit: 0 }, 'limit must be an integer between 1 and 1000'],
    [{ limit: 1001 }, 'limit must be an integer between 1 and 1000'],
    [{ limit: 2.5 }, 'limit must be an integer between 1 and 1000'],
    [{ limit: '10' }, 'limit must be an integer between 1 and 1000'],
    [{ offset: -1 }, 'offset must be an integer between 0 and 100000'],
    [{ offset: 100_001 }, 'offset must be an integer between 0 and 100000'],
    [{ query: 5 }, 'query must be a string of at most 256 characters'],
    [{ colour: 'red' }, 'search query has an unknown field "colour"; allowed fields: query, filters, sort, limit, offset, cursor'],
    [{ filters: { state: 'pending' } }, 'filters has an unknown field "state"; allowed fields: client_id, user_id, mime_type, processing_status, date_range'],
    [{ filters: [] }, 'filters must be an object'],
    [{ filters: { mime_type: 'image/png' } }, 'filters.mime_type must be a non-empty array of at most 32 MIME type strings'],
    [{ filters: { mime_type: [] } }, 'filters.mime_type must be a non-empty array of at most 32 MIME type strings'],
    [{ filters: { mime_type: Array(33).fill('image/png') } }, 'filters.mime_type must be a non-empty array of at most 32 MIME type strings'],
    [{ filters: { processing_status: ['done'] } }, 'filters.processing_status must be a non-empty array of at most 5 statuses from: queued, in_progress, completed, failed, cancelled'],
    [{ filters: { user_id: '' } }, 'filters.user_id must be a non-empty string of at most 128 characters without control characters'],
    [{ filters: { date_range: { start: 'last week' } } }, 'filters.date_range.start must be an ISO-8601 timestamp such as 2024-05-01T12:30:00.000Z'],
    [{ filters: { date_range: { start: '2024-02-01', end: '2024-01-01' } } }, 'filters.date_range.start must not be later than filters.date_range.end'],
    [{ cursor: 12 }, "cursor must be a string taken unchanged from a previous page's nextCursor"],
    [null, 'search query must be an object'],
  ];
  for (const [query, message] of cases) {
    await assert.rejects(async () => await catalog.search('client-a', query), (err: unknown) => {
      assert.ok(err instanceof ValidationError, JSON.stringify(query));
      assert.equal(err.message, message);
      return true;
    });
  }
});
