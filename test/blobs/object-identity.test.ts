// An object's identity survives the trip through S3 user metadata (ASCII
// headers) whatever its filename, and anything malformed reads as "not
// storaged's" rather than as a half-right identity.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { identityFromMetadata, identityHeaders, identityMetadata, type ObjectIdentity } from '../../src/daemon/blobs/object-identity';

const base: ObjectIdentity = {
  id: '0b6a3c1e-1d2f-4a5b-8c9d-0e1f2a3b4c5d',
  catalogId: '0123456789abcdef0123456789abcdef',
  clientId: 'acme',
  userId: 'user-42',
  sessionId: null,
  originalFilename: 'beach sunset.jpg',
  mimeType: 'image/jpeg',
  size: 1234,
  sha256: 'ab'.repeat(32),
  uploadedAt: '2026-12-04T01:02:03.456Z',
};

test('identity round-trips through user metadata, for filenames of any script and hostile ones', () => {
  for (const originalFilename of ['photo (1).jpg', 'café.jpg', '照片.png', 'фото.jpeg', 'صورة.png', '😀.gif', 'a%20b.jpg', 'x\r\nX-Evil: 1.jpg', "q'\"<>;.png"]) {
    const identity = { ...base, originalFilename };
    const headers = identityHeaders(identity);
    for (const value of Object.values(headers)) assert.match(value, /^[\x20-\x7e]*$/, 'header values stay printable ASCII');
    assert.deepEqual(identityFromMetadata(headers), identity);
    assert.deepEqual(identityFromMetadata(identityMetadata(identity)), identity, 'names without x-amz-meta- read the same');
  }
});

test('an identity without size and digest (an upload begun while the body arrived) reads back as such', () => {
  const identity = { ...base, size: null, sha256: null, userId: null, sessionId: 's-1' };
  assert.deepEqual(identityFromMetadata(identityHeaders(identity)), identity);
});

test('metadata names are matched case-insensitively, as S3 servers and proxies may change case', () => {
  const upper = Object.fromEntries(Object.entries(identityHeaders(base)).map(([k, v]) => [k.toUpperCase(), v]));
  assert.deepEqual(identityFromMetadata(upper), base);
});

test('anything malformed, missing or of another schema is no identity at all', () => {
  const meta = identityMetadata(base);
  const broken: Array<[string, Record<string, string>]> = [
    ['no metadata', {}],
    ['unknown schema', { ...meta, 'storaged-schema': '2' }],
    ['bad id', { ...meta, 'storaged-id': 'not-a-uuid' }],
    ['bad catalog', { ...meta, 'storaged-catalog': 'xyz' }],
    ['bad time', { ...meta, 'storaged-uploaded': 'yesterday' }],
    ['bad size', { ...meta, 'storaged-size': '-1' }],
    ['bad digest', { ...meta, 'storaged-sha256': 'AB'.repeat(32) }],
    ['bad encoding', { ...meta, 'storaged-filename': '%E0%A4%A' }],
    ['no filename', Object.fromEntries(Object.entries(meta).filter(([k]) => k !== 'storaged-filename'))],
  ];
  for (const [why, m] of broken) assert.equal(identityFromMetadata(m), null, why);
});
