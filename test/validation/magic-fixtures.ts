// Real file heads, built in code: complete tiny images where that is short
// (PNG, GIF, BMP), true headers otherwise. Each is what the sniffer must recognise.

import * as zlib from 'node:zlib';

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A valid 1x1 opaque black PNG. */
export function png1x1(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.from([0, 0, 0, 0]))), // filter byte + one RGB pixel
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** SOI, then an APP0 JFIF segment: how nearly every JPEG starts. */
export function jpegHead(): Buffer {
  return Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  ]);
}

/** A complete 1x1 GIF89a. */
export function gif1x1(version: '87a' | '89a' = '89a'): Buffer {
  return Buffer.concat([
    Buffer.from(`GIF${version}`, 'latin1'),
    Buffer.from([0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00]), // screen 1x1, global colour table of 2
    Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff, 0xff]),
    Buffer.from([0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]), // image descriptor
    Buffer.from([0x02, 0x02, 0x44, 0x01, 0x00, 0x3b]), // LZW data, trailer
  ]);
}

/** RIFF <size> WEBP VP8L header. */
export function webpHead(): Buffer {
  const head = Buffer.alloc(20);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(26, 4);
  head.write('WEBPVP8L', 8, 'latin1');
  head.writeUInt32LE(13, 16);
  return head;
}

/** A complete 1x1 24-bit BMP with a BITMAPINFOHEADER. */
export function bmp1x1(): Buffer {
  const file = Buffer.alloc(58);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(58, 2); // file size
  file.writeUInt32LE(54, 10); // pixel data offset
  file.writeUInt32LE(40, 14); // DIB header size
  file.writeInt32LE(1, 18); // width
  file.writeInt32LE(1, 22); // height
  file.writeUInt16LE(1, 26); // planes
  file.writeUInt16LE(24, 28); // bits per pixel
  file.writeUInt32LE(4, 34); // image size (one pixel padded to 4 bytes)
  return file;
}

export const SVG_PLAIN = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>';
export const SVG_WITH_PROLOGUE =
  '\uFEFF  <?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n' +
  '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' +
  '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>';

/** An ISO-BMFF `ftyp` box with the given major and compatible brands. */
export function ftyp(major: string, compatible: string[] = []): Buffer {
  const box = Buffer.alloc(16 + 4 * compatible.length);
  box.writeUInt32BE(box.length, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'));
  return box;
}

/** An EBML header with the given DocType ("webm" or "matroska"). */
export function ebml(docType: string): Buffer {
  const doc = Buffer.from(docType, 'latin1');
  const body = Buffer.concat([Buffer.from([0x42, 0x82, 0x80 | doc.length]), doc]);
  return Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | body.length]), body]);
}
