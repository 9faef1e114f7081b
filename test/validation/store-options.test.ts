import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ALLOWED_TYPES } from '../../src/daemon/validation/allowed-types';
import { uniformBodyLimits } from '../../src/daemon/validation/body-limits';
import { validateStoreOptions, type StorePolicy } from '../../src/daemon/validation/store-options';
import { expectError } from './expect-error';

const policy = { allowedTypes: DEFAULT_ALLOWED_TYPES, bodyLimits: uniformBodyLimits(1000) };
const base = { originalName: 'beach sunset_2024-v2.png', clientId: 'acme' };
const validate = (extra: Record<string, unknown>, caller = 'acme') => validateStoreOptions({ ...base, ...extra }, caller, policy);

test('the minimal options pass unchanged', () => {
  assert.deepEqual(validateStoreOptions(base, 'acme', policy), base);
});

test('every optional field passes when valid, sha256 lowercased and content type canonical', () => {
  const sha = 'AB'.repeat(32);
  const metadata = { album: 'summer', 'camera.model': 'X-100', trip_id: '7' };
  assert.deepEqual(
    validate({ contentType: 'image/jpg', userId: 'user-1', sessionId: 's'.repeat(128), metadata, sha256: sha, size: 1000 }),
    { ...base, contentType: 'image/jpeg', userId: 'user-1', sessionId: 's'.repeat(128), metadata, sha256: sha.toLowerCase(), size: 1000 },
  );
  assert.equal(validate({ size: 0 }).size, 0);
  assert.deepEqual(validate({ metadata: {} }).metadata, {});
});

test('good file names: any script, punctuation people use, up to 255 bytes of UTF-8', () => {
  const names = [
    'a', 'IMG_0001.JPG', 'my photo.png', 'x-y.z.gif', 'trailing.', 'a'.repeat(255), 'no extension', 'photo (1).jpg', 'café.jpg',
    '照片.png', 'фото.png', 'صورة.jpg', 'φωτογραφία.webp', 'תמונה.png', '😀 smile.gif', "it's [draft] #2 & more!.png", '.htaccess',
    'x;rm -rf.png', 'é'.repeat(127),
  ];
  for (const name of names) assert.equal(validate({ originalName: name }).originalName, name, name);
});

test('a file name is stored NFC-normalised: the same name typed on macOS is one name', () => {
  assert.equal(validate({ originalName: 'cafe\u0301.jpg' }).originalName, 'café.jpg');
});

const nameRule = /^options\.originalName must/;

const badOptions: Array<[string, unknown, string, string | RegExp]> = [
  ['options not an object', 'x', 'VALIDATION', 'options must be an object'],
  ['options an array', [base], 'VALIDATION', 'options must be an object'],
  ['options null', null, 'VALIDATION', 'options must be an object'],
  [
    'unknown key',
    { ...base, bucket: 'videos' },
    'VALIDATION',
    'options has an unknown field "bucket"; allowed fields: originalName, contentType, clientId, sessionId, userId, metadata, sha256, size, idempotencyKey',
  ],
  ['originalName missing', { clientId: 'acme' }, 'VALIDATION', 'options.originalName is required'],
  ['originalName empty', { ...base, originalName: '' }, 'VALIDATION', nameRule],
  ['originalName too long', { ...base, originalName: 'a'.repeat(256) }, 'VALIDATION', nameRule],
  ['originalName not a string', { ...base, originalName: 42 }, 'VALIDATION', nameRule],
  ['originalName with a slash', { ...base, originalName: 'a/b.png' }, 'VALIDATION', 'options.originalName must not contain a path separator (U+002F)'],
  ['originalName with a backslash', { ...base, originalName: 'a\\b.png' }, 'VALIDATION', 'options.originalName must not contain a path separator (U+005C)'],
  ['originalName ..', { ...base, originalName: '..' }, 'VALIDATION', 'options.originalName must not be "." or ".."'],
  ['originalName .', { ...base, originalName: '.' }, 'VALIDATION', 'options.originalName must not be "." or ".."'],
  ['originalName leading space', { ...base, originalName: ' a.png' }, 'VALIDATION', 'options.originalName must not begin or end with white space'],
  ['originalName trailing space', { ...base, originalName: 'a.png ' }, 'VALIDATION', 'options.originalName must not begin or end with white space'],
  ['originalName NUL', { ...base, originalName: 'a\0.png' }, 'VALIDATION', 'options.originalName must not contain a control or direction-changing character (U+0000)'],
  ['originalName newline', { ...base, originalName: 'a\n.png' }, 'VALIDATION', /\(U\+000A\)$/],
  ['originalName DEL', { ...base, originalName: 'a\x7f.png' }, 'VALIDATION', /\(U\+007F\)$/],
  ['originalName C1 control', { ...base, originalName: 'a\u0085.png' }, 'VALIDATION', /\(U\+0085\)$/],
  ['originalName right-to-left override', { ...base, originalName: 'photo\u202Egpj.exe' }, 'VALIDATION', /\(U\+202E\)$/],
  ['originalName bidi isolate', { ...base, originalName: 'a\u2066b.png' }, 'VALIDATION', /\(U\+2066\)$/],
  ['originalName line separator', { ...base, originalName: 'a\u2028b.png' }, 'VALIDATION', /\(U\+2028\)$/],
  ['originalName lone surrogate', { ...base, originalName: 'a\uD800.png' }, 'VALIDATION', /well-formed Unicode/],
  ['originalName over 255 bytes of UTF-8', { ...base, originalName: 'é'.repeat(128) }, 'VALIDATION', 'options.originalName must be at most 255 bytes of UTF-8'],
  ['clientId missing', { originalName: 'a.png' }, 'VALIDATION', 'options.clientId is required'],
  ['clientId not a string', { ...base, clientId: 7 }, 'VALIDATION', 'options.clientId must be a string, got number'],
  ['clientId empty', { ...base, clientId: '' }, 'VALIDATION', 'options.clientId must not be empty'],
  [
    'clientId of another tenant',
    { ...base, clientId: 'globex' },
    'VALIDATION',
    "options.clientId 'globex' differs from the client id this connection is bound to ('acme')",
  ],
  ['contentType not a string', { ...base, contentType: 5 }, 'VALIDATION', 'options.contentType must be a MIME type string such as image/jpeg'],
  [
    'contentType not allowed',
    { ...base, contentType: 'application/x-msdownload' },
    'UNSUPPORTED_TYPE',
    'content type application/x-msdownload is not allowed (allowed: image/jpeg, image/png, image/gif, image/webp, image/bmp)',
  ],
  ['contentType video (not in the default list)', { ...base, contentType: 'video/mp4' }, 'UNSUPPORTED_TYPE', /^content type video\/mp4 is not allowed/],
  ['userId empty', { ...base, userId: '' }, 'VALIDATION', 'options.userId must be a non-empty string of at most 128 characters without control characters'],
  ['userId too long', { ...base, userId: 'u'.repeat(129) }, 'VALIDATION', /^options\.userId must be/],
  ['userId not a string', { ...base, userId: 12 }, 'VALIDATION', /^options\.userId must be/],
  ['sessionId too long', { ...base, sessionId: 's'.repeat(129) }, 'VALIDATION', /^options\.sessionId must be/],
  ['sessionId with a control character', { ...base, sessionId: 'a\u0007' }, 'VALIDATION', /^options\.sessionId must be/],
  ['metadata not an object', { ...base, metadata: 'x' }, 'VALIDATION', 'options.metadata must be an object of string values'],
  ['metadata an array', { ...base, metadata: ['x'] }, 'VALIDATION', 'options.metadata must be an object of string values'],
  ['metadata value not a string', { ...base, metadata: { n: 1 } }, 'VALIDATION', 'options.metadata.n must be a string'],
  ['metadata value too long', { ...base, metadata: { k: 'v'.repeat(1025) } }, 'VALIDATION', 'options.metadata.k must be at most 1024 characters'],
  ['metadata key too long', { ...base, metadata: { ['k'.repeat(129)]: 'v' } }, 'VALIDATION', 'options.metadata keys must be 1 to 128 characters long'],
  ['metadata key empty', { ...base, metadata: { '': 'v' } }, 'VALIDATION', 'options.metadata keys must be 1 to 128 characters long'],
  ['metadata key with a space', { ...base, metadata: { 'a b': 'v' } }, 'VALIDATION', 'options.metadata key "a b" may contain only A-Z a-z 0-9 _ . -'],
  ['metadata key with a quote', { ...base, metadata: { "a'": 'v' } }, 'VALIDATION', /^options\.metadata key "a'" may contain only/],
  [
    'metadata with 65 keys',
    { ...base, metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
    'VALIDATION',
    'options.metadata may have at most 64 keys (got 65)',
  ],
  ['sha256 too short', { ...base, sha256: 'ab'.repeat(31) }, 'VALIDATION', 'options.sha256 must be 64 hexadecimal characters'],
  ['sha256 not hex', { ...base, sha256: 'zz'.repeat(32) }, 'VALIDATION', 'options.sha256 must be 64 hexadecimal characters'],
  ['sha256 not a string', { ...base, sha256: 1 }, 'VALIDATION', 'options.sha256 must be 64 hexadecimal characters'],
  ['size negative', { ...base, size: -1 }, 'VALIDATION', 'options.size must be a non-negative integer number of bytes'],
  ['size fractional', { ...base, size: 1.5 }, 'VALIDATION', 'options.size must be a non-negative integer number of bytes'],
  ['size a string', { ...base, size: '10' }, 'VALIDATION', 'options.size must be a non-negative integer number of bytes'],
  ['size NaN', { ...base, size: Number.NaN }, 'VALIDATION', 'options.size must be a non-negative integer number of bytes'],
  ['size above the limit', { ...base, size: 1001 }, 'TOO_LARGE', 'body of 1001 bytes exceeds the limit of 1000 bytes'],
];

for (const [name, raw, code, message] of badOptions) {
  test(`refuses ${name}`, () => expectError(() => validateStoreOptions(raw, 'acme', policy), code, message));
}

test('a key whose value is undefined counts as absent', () => {
  assert.deepEqual(validateStoreOptions({ ...base, userId: undefined, extra: undefined }, 'acme', policy), base);
});

test('a metadata key named __proto__ stays a plain key', () => {
  const metadata = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
  const out = validate({ metadata });
  assert.equal(Object.getPrototypeOf(out.metadata), Object.prototype);
  assert.deepEqual(Object.keys(out.metadata!), ['__proto__']);
});

test('the size limit comes from the policy', () => {
  const big = { allowedTypes: DEFAULT_ALLOWED_TYPES, bodyLimits: uniformBodyLimits(50 * 1024 * 1024) };
  assert.equal(validateStoreOptions({ ...base, size: 50 * 1024 * 1024 }, 'acme', big).size, 50 * 1024 * 1024);
});

test("a declared size is held to the declared type's limit, or to the largest when no type is declared", () => {
  const perType = { allowedTypes: [...DEFAULT_ALLOWED_TYPES, 'video/mp4'], bodyLimits: { image: 1000, video: 5000, file: 2000 } };
  const check = (extra: Record<string, unknown>) => validateStoreOptions({ ...base, ...extra }, 'acme', perType);
  assert.equal(check({ contentType: 'image/png', size: 1000 }).size, 1000);
  assert.equal(check({ contentType: 'video/mp4', size: 5000 }).size, 5000);
  assert.equal(check({ size: 5000 }).size, 5000, 'the bytes will decide; until then the largest limit holds');
  expectError(() => check({ contentType: 'image/png', size: 1001 }), 'TOO_LARGE', 'body of 1001 bytes exceeds the limit of 1000 bytes for images (image/png)');
  expectError(() => check({ contentType: 'video/mp4', size: 5001 }), 'TOO_LARGE', 'body of 5001 bytes exceeds the limit of 5000 bytes for videos (video/mp4)');
  expectError(() => check({ size: 5001 }), 'TOO_LARGE', 'body of 5001 bytes exceeds the limit of 5000 bytes');
});

test('a declared document is held to the file limit, once the policy allows its type', () => {
  const withPdf = { allowedTypes: [...DEFAULT_ALLOWED_TYPES, 'application/pdf'], bodyLimits: { image: 1000, video: 5000, file: 2000 } };
  const check = (extra: Record<string, unknown>, p: StorePolicy = withPdf) => validateStoreOptions({ ...base, ...extra }, 'acme', p);
  assert.equal(check({ contentType: 'application/pdf', size: 2000 }).size, 2000);
  expectError(() => check({ contentType: 'application/pdf', size: 2001 }), 'TOO_LARGE', 'body of 2001 bytes exceeds the limit of 2000 bytes for files (application/pdf)');
  expectError(
    () => check({ contentType: 'application/pdf', size: 10 }, policy),
    'UNSUPPORTED_TYPE',
    `content type application/pdf is not allowed (allowed: ${DEFAULT_ALLOWED_TYPES.join(', ')})`,
  );
});
