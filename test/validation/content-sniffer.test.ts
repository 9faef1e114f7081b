import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { SNIFF_BYTES, sniffMimeType } from '../../src/daemon/validation/content-sniffer';
import { emptyZip, gzipBytes, pdfHead, sevenZipHead, tarHeader, zipHead, zstdFrame } from './file-fixtures';
import { bmp1x1, ebml, ftyp, gif1x1, jpegHead, png1x1, SVG_PLAIN, SVG_WITH_PROLOGUE, webpHead } from './magic-fixtures';

/** A tar header block whose checksum field no longer matches its bytes. */
function tarWithWrongChecksum(): Buffer {
  const block = tarHeader('a.txt');
  block[0] = block[0]! + 1;
  return block;
}

/** "ustar" where tar puts it, in a block of text that is no tar header (no checksum). */
function ustarByChance(): Buffer {
  const block = Buffer.alloc(512, 'x');
  block.write('ustar\x0000', 257, 'latin1');
  return block;
}

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
  ['PDF 1.7', pdfHead(), 'application/pdf'],
  ['PDF 2.0', pdfHead('2.0'), 'application/pdf'],
  ['ZIP local file header', zipHead(), 'application/zip'],
  ['empty ZIP archive', emptyZip(), 'application/zip'],
  ['empty ZIP archive with a comment', emptyZip('nothing here'), 'application/zip'],
  ['ZIP behind the spanning marker', zipHead('a.txt', [0x50, 0x4b, 0x07, 0x08]), 'application/zip'],
  ['ZIP behind the single-segment marker PK00', zipHead('a.txt', [0x50, 0x4b, 0x30, 0x30]), 'application/zip'],
  ['gzip (zlib)', gzipBytes(), 'application/gzip'],
  ['POSIX tar', tarHeader('a.txt'), 'application/x-tar'],
  ['GNU tar', tarHeader('a.txt', 'gnu'), 'application/x-tar'],
  // A tar's first bytes are a member's name: the checksummed header wins over what the name spells.
  ['tar whose first member is named GIF89a', tarHeader('GIF89a.gif'), 'application/x-tar'],
  ['tar whose first member is named %PDF-1.7', tarHeader('%PDF-1.7.txt'), 'application/x-tar'],
  ['7z', sevenZipHead(), 'application/x-7z-compressed'],
  ['zstd frame', zstdFrame(), 'application/zstd'],
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
  ['"%PD"', Buffer.from('%PD')],
  ['"%PDF" without the dash', Buffer.from('%PDF 1.7\n')],
  ['"%PDF-" without a version', Buffer.from('%PDF- is how a PDF starts')],
  ['"%PDF-" with a letter for a version', Buffer.from('%PDF-x.y\n')],
  ['a PDF header not at the start', Buffer.from(' %PDF-1.7\n')],
  ['"PK" and text', Buffer.from('PKZIP was written by Phil Katz')],
  ['a ZIP central directory record (a fragment, not an archive)', Buffer.from([0x50, 0x4b, 0x01, 0x02, 0x14, 0x00])],
  ['a ZIP end record of a non-empty archive', (() => { const r = emptyZip(); r.writeUInt16LE(3, 10); return r; })()],
  ['a truncated ZIP end record', emptyZip().subarray(0, 21)],
  ['the spanning marker without a local header after it', Buffer.from([0x50, 0x4b, 0x07, 0x08, 0x50, 0x4b, 0x01, 0x02])],
  ['"PK\\x03" alone', Buffer.from([0x50, 0x4b, 0x03])],
  ['gzip magic with a method other than deflate', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x07]), gzipBytes().subarray(3)])],
  ['gzip with a reserved flag set', (() => { const g = gzipBytes(); g[3] = 0x20; return g; })()],
  ['a gzip header cut short', gzipBytes().subarray(0, 9)],
  ['a tar header with a wrong checksum', tarWithWrongChecksum()],
  ['"ustar" at 257 by chance', ustarByChance()],
  ['a tar header cut short', tarHeader('a.txt').subarray(0, 511)],
  ['the 7z magic cut short', sevenZipHead().subarray(0, 5)],
  ['a zstd skippable frame', Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0x04, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64])],
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
