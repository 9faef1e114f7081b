import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { SNIFF_BYTES, sniffMimeType } from '../../src/daemon/validation/content-sniffer';
import { bmp1x1, ebml, ftyp, gif1x1, jpegHead, png1x1, SVG_PLAIN, SVG_WITH_PROLOGUE, webpHead } from './magic-fixtures';

const recognised: Array<[string, Buffer, string]> = [
  ['1x1 PNG', png1x1(), 'image/png'],
  ['JPEG SOI + APP0', jpegHead(), 'image/jpeg'],
  ['JPEG SOI + EXIF APP1', Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10]), 'image/jpeg'],
  ['GIF89a', gif1x1('89a'), 'image/gif'],
  ['GIF87a', gif1x1('87a'), 'image/gif'],
  ['RIFF WEBP', webpHead(), 'image/webp'],
  ['1x1 BMP', bmp1x1(), 'image/bmp'],
  ['bare <svg>', Buffer.from(SVG_PLAIN), 'image/svg+xml'],
  ['SVG after BOM, XML declaration, comment and doctype', Buffer.from(SVG_WITH_PROLOGUE), 'image/svg+xml'],
  ['SVG with attributes on a new line', Buffer.from('<svg\n  xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml'],
  ['HEIC', ftyp('heic', ['mif1', 'heic']), 'image/heic'],
  ['HEIF mif1 without avif', ftyp('mif1', ['heic']), 'image/heic'],
  ['AVIF', ftyp('avif', ['mif1', 'avif']), 'image/avif'],
  ['AVIF under the mif1 major brand', ftyp('mif1', ['miaf', 'avif']), 'image/avif'],
  ['MP4', ftyp('isom', ['isom', 'mp41']), 'video/mp4'],
  ['QuickTime', ftyp('qt  '), 'video/quicktime'],
  ['WebM', ebml('webm'), 'video/webm'],
];

for (const [name, head, type] of recognised) {
  test(`sniffs ${name} as ${type}`, () => {
    assert.equal(sniffMimeType(head), type);
    // Trailing bytes up to SNIFF_BYTES change nothing.
    assert.equal(sniffMimeType(Buffer.concat([head, Buffer.alloc(SNIFF_BYTES)]).subarray(0, Math.max(SNIFF_BYTES, head.length))), type);
  });
}

const unknown: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['plain text', Buffer.from('hello world')],
  ['text starting with BM', Buffer.from('BMW service report, 2026-11-29, mileage 120000 km')],
  ['HTML', Buffer.from('<!doctype html><html><body>hi</body></html>')],
  ['SVG-like text that is not the root', Buffer.from('<html><svg/></html>')],
  ['an <svgfoo> element', Buffer.from('<svgfoo/>')],
  ['SVG behind an unterminated comment', Buffer.from('<!-- never closed <svg/>')],
  ['ELF executable', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00])],
  ['ZIP', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00])],
  ['PDF', Buffer.from('%PDF-1.7\n')],
  ['truncated PNG signature', png1x1().subarray(0, 7)],
  ['truncated JPEG SOI', Buffer.from([0xff, 0xd8])],
  ['RIFF that is WAVE', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
  ['Matroska (not WebM)', ebml('matroska')],
  ['GIF90a', Buffer.from('GIF90a', 'latin1')],
];

for (const [name, head] of unknown) {
  test(`does not recognise ${name}`, () => assert.equal(sniffMimeType(head), null));
}

test('SNIFF_BYTES covers an SVG prologue of a realistic length', () => {
  assert.ok(SNIFF_BYTES >= 1024);
  const longComment = `<!-- ${'x'.repeat(2000)} -->`;
  assert.equal(sniffMimeType(Buffer.from(`${longComment}${SVG_PLAIN}`).subarray(0, SNIFF_BYTES)), 'image/svg+xml');
});
