import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ALLOWED_TYPES } from '../../src/daemon/validation/allowed-types';
import { checkContent } from '../../src/daemon/validation/content-check';
import { gzipBytes, pdfHead, tarHeader, zipHead } from './file-fixtures';
import { bmp1x1, ftyp, gif1x1, jpegHead, png1x1, SVG_PLAIN, webpHead } from './magic-fixtures';
import { expectError } from './expect-error';

const allowed = DEFAULT_ALLOWED_TYPES;
const allowedList = 'image/jpeg, image/png, image/gif, image/webp, image/bmp';
/** The defaults with SVG added back, as an operator who accepts its risk would. */
const withSvg = [...allowed, 'image/svg+xml'];

test('DEFAULT_ALLOWED_TYPES is the seed image whitelist without SVG, which can carry scripts', () => {
  assert.deepEqual([...DEFAULT_ALLOWED_TYPES], ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/bmp']);
});

const accepted: Array<[string, Buffer, string | undefined, string]> = [
  ['PNG, nothing declared', png1x1(), undefined, 'image/png'],
  ['PNG declared image/png', png1x1(), 'image/png', 'image/png'],
  ['JPEG declared image/jpeg', jpegHead(), 'image/jpeg', 'image/jpeg'],
  ['JPEG declared with the image/jpg alias', jpegHead(), 'image/jpg', 'image/jpeg'],
  ['JPEG declared in upper case with a parameter', jpegHead(), 'IMAGE/JPEG; q=1', 'image/jpeg'],
  ['GIF', gif1x1(), 'image/gif', 'image/gif'],
  ['WebP', webpHead(), undefined, 'image/webp'],
  ['BMP', bmp1x1(), 'image/bmp', 'image/bmp'],
];

for (const [name, head, declared, expected] of accepted) {
  test(`accepts ${name} as ${expected}`, () => assert.equal(checkContent(head, declared, allowed), expected));
}

test('accepts SVG only when the operator adds it back', () => {
  assert.equal(checkContent(Buffer.from(SVG_PLAIN), 'image/svg+xml', withSvg), 'image/svg+xml');
  expectError(() => checkContent(Buffer.from(SVG_PLAIN), undefined, allowed), 'UNSUPPORTED_TYPE', `the bytes are image/svg+xml, which is not allowed (allowed: ${allowedList})`);
});

test('accepts video when the policy allows it', () => {
  assert.equal(checkContent(ftyp('isom'), 'video/mp4', [...allowed, 'video/mp4']), 'video/mp4');
});

// Documents and archives: sniffed like images, stored only where the policy lists them.
const withFiles = [...allowed, 'application/pdf', 'application/zip', 'application/gzip', 'application/x-tar'];

const acceptedFiles: Array<[string, Buffer, string | undefined, string]> = [
  ['PDF, nothing declared', pdfHead(), undefined, 'application/pdf'],
  ['PDF declared application/pdf', pdfHead(), 'application/pdf', 'application/pdf'],
  ['ZIP declared with the Windows browser name', zipHead(), 'application/x-zip-compressed', 'application/zip'],
  ['gzip declared application/x-gzip', gzipBytes(), 'application/x-gzip', 'application/gzip'],
  ['tar', tarHeader('a.txt'), 'application/x-tar', 'application/x-tar'],
];

for (const [name, head, declared, expected] of acceptedFiles) {
  test(`accepts ${name} as ${expected} when the policy allows it`, () => assert.equal(checkContent(head, declared, withFiles), expected));
}

const refused: Array<[string, Buffer, string | undefined, readonly string[], string, string]> = [
  ['an empty body', Buffer.alloc(0), 'image/png', allowed, 'VALIDATION', 'File data cannot be empty'],
  ['unknown bytes', Buffer.from('MZ\x90\x00 this is an exe', 'latin1'), undefined, allowed, 'UNSUPPORTED_TYPE', `the bytes are not any allowed type (${allowedList})`],
  ['unknown bytes declared as PNG', Buffer.from('<html></html>'), 'image/png', allowed, 'UNSUPPORTED_TYPE', `the bytes are not any allowed type (${allowedList})`],
  ['a known type outside the policy', ftyp('isom'), undefined, allowed, 'UNSUPPORTED_TYPE', `the bytes are video/mp4, which is not allowed (allowed: ${allowedList})`],
  ['SVG when the policy drops it', Buffer.from(SVG_PLAIN), undefined, ['image/png'], 'UNSUPPORTED_TYPE', 'the bytes are image/svg+xml, which is not allowed (allowed: image/png)'],
  ['JPEG bytes declared as PNG', jpegHead(), 'image/png', allowed, 'UNSUPPORTED_TYPE', 'declared content type image/png does not match the bytes (image/jpeg)'],
  ['PNG bytes declared as GIF', png1x1(), 'image/gif', allowed, 'UNSUPPORTED_TYPE', 'declared content type image/gif does not match the bytes (image/png)'],
  ['a PDF under the default policy', pdfHead(), undefined, allowed, 'UNSUPPORTED_TYPE', `the bytes are application/pdf, which is not allowed (allowed: ${allowedList})`],
  ['a PDF declared as an image', pdfHead(), 'image/png', allowed, 'UNSUPPORTED_TYPE', `the bytes are application/pdf, which is not allowed (allowed: ${allowedList})`],
  ['ZIP bytes declared as PDF', zipHead(), 'application/pdf', withFiles, 'UNSUPPORTED_TYPE', 'declared content type application/pdf does not match the bytes (application/zip)'],
  // A docx is a ZIP: the daemon names only the container it can tell, so a caller declares that (or nothing).
  ['a docx declared as such', zipHead('[Content_Types].xml'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', [...withFiles, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'], 'UNSUPPORTED_TYPE', 'declared content type application/vnd.openxmlformats-officedocument.wordprocessingml.document does not match the bytes (application/zip)'],
  ['a tar named like a GIF, declared as one', tarHeader('GIF89a.gif'), 'image/gif', withFiles, 'UNSUPPORTED_TYPE', 'declared content type image/gif does not match the bytes (application/x-tar)'],
  ['gzip when only PDF is allowed', gzipBytes(), undefined, ['application/pdf'], 'UNSUPPORTED_TYPE', 'the bytes are application/gzip, which is not allowed (allowed: application/pdf)'],
];

for (const [name, head, declared, types, code, message] of refused) {
  test(`refuses ${name}`, () => expectError(() => checkContent(head, declared, types), code, message));
}
