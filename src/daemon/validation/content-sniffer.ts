// What the bytes say they are, from their magic numbers. A declared type is
// never trusted alone: an executable renamed .png must not land in `images`.
// Photos and videos here; documents and archives in file-signatures.ts.

import { isTar, sniffFileType } from './file-signatures';
import { ascii, startsWith } from './magic-bytes';

/** Head bytes the sniffer looks at. */
export const SNIFF_BYTES = 4096;

function isoBmffBrand(head: Buffer): string | null {
  // ISO base media: [size:4]['ftyp'][major brand:4]...
  if (!ascii(head, 'ftyp', 4)) return null;
  const brand = head.subarray(8, 12).toString('latin1');
  if (brand === 'avif' || brand === 'avis') return 'image/avif';
  if (brand === 'mif1' || brand === 'msf1') {
    // Generic HEIF major brand: the compatible brands (after the minor version) say AVIF or HEIC.
    const boxEnd = Math.min(head.readUInt32BE(0), head.length);
    for (let at = 16; at + 4 <= boxEnd; at += 4) {
      const compatible = head.subarray(at, at + 4).toString('latin1');
      if (compatible === 'avif' || compatible === 'avis') return 'image/avif';
    }
    return 'image/heic';
  }
  if (['heic', 'heix', 'hevc', 'heim', 'heis', 'hevx'].includes(brand)) return 'image/heic';
  if (brand === 'qt  ') return 'video/quicktime';
  return 'video/mp4';
}

/** Sizes of the DIB headers BMP files use (core, info, v2..v5). */
const DIB_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

/** "BM" alone starts plenty of text; also require zero reserved bytes and a known DIB header size. */
function isBmp(head: Buffer): boolean {
  return ascii(head, 'BM') && head.length >= 18 && head.readUInt32LE(6) === 0 && DIB_HEADER_SIZES.has(head.readUInt32LE(14));
}

function isSvg(head: Buffer): boolean {
  let text = head.toString('utf8').replace(/^\uFEFF/, '');
  // Skip the XML declaration, comments and a doctype before the root element.
  for (;;) {
    text = text.trimStart();
    const skipped = text.replace(/^<\?xml[\s\S]*?\?>|^<!--[\s\S]*?-->|^<!DOCTYPE[^>]*>/i, '');
    if (skipped === text) break;
    text = skipped;
  }
  return /^<svg[\s>]/i.test(text);
}

export function sniffMimeType(head: Buffer): string | null {
  // First: a tar begins with a member's name, which may spell any other magic number.
  if (isTar(head)) return 'application/x-tar';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (ascii(head, 'GIF87a') || ascii(head, 'GIF89a')) return 'image/gif';
  if (ascii(head, 'RIFF') && ascii(head, 'WEBP', 8)) return 'image/webp';
  if (isBmp(head)) return 'image/bmp';
  // EBML is also Matroska (.mkv); only the "webm" doctype is WebM.
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return head.subarray(0, 64).includes('webm', 0, 'latin1') ? 'video/webm' : null;
  const bmff = isoBmffBrand(head);
  if (bmff) return bmff;
  if (isSvg(head)) return 'image/svg+xml';
  return sniffFileType(head);
}
