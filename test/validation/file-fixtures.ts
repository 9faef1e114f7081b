// Heads of documents and archives, built in code the way their writers lay
// them out (gzip by zlib itself; the zstd frame is what `zstd` wrote for "hello\n").

import * as zlib from 'node:zlib';

export function pdfHead(version = '1.7'): Buffer {
  // The binary comment on the second line is what writers add so that tools treat the file as binary.
  return Buffer.concat([Buffer.from(`%PDF-${version}\n%`, 'latin1'), Buffer.from([0xe2, 0xe3, 0xcf, 0xd3, 0x0a])]);
}

/** A ZIP local file header for a stored (uncompressed) member, preceded by `prefix` (a span marker) if given. */
export function zipHead(name = 'a.txt', prefix: number[] = []): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(10, 4); // version needed: 1.0
  header.writeUInt32LE(6, 18); // compressed size
  header.writeUInt32LE(6, 22); // uncompressed size
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([Buffer.from(prefix), header, Buffer.from(name, 'latin1'), Buffer.from('hello\n')]);
}

/** A whole empty archive: its end-of-central-directory record alone, as Python's zipfile writes it. */
export function emptyZip(comment = ''): Buffer {
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(comment.length, 20);
  return Buffer.concat([record, Buffer.from(comment, 'latin1')]);
}

export function gzipBytes(): Buffer {
  return zlib.gzipSync(Buffer.from('hello\n'));
}

export function zstdFrame(): Buffer {
  return Buffer.from('28b52ffd240631000068656c6c6f0a5388bd91', 'hex');
}

/** The 7z signature header: magic, format version 0.4, then CRCs and the next header's place. */
export function sevenZipHead(): Buffer {
  return Buffer.concat([Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04]), Buffer.alloc(24)]);
}

/**
 * A tar header block for one regular file (POSIX ustar, or GNU's "ustar  "
 * magic), with its checksum as tar writes it: the sum of the block's bytes
 * with the checksum field counted as spaces, in six octal digits, NUL, space.
 */
export function tarHeader(name: string, format: 'posix' | 'gnu' = 'posix'): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 'latin1');
  block.write('0000644\0', 100, 'latin1'); // mode
  block.write('0000000\0', 108, 'latin1'); // uid
  block.write('0000000\0', 116, 'latin1'); // gid
  block.write('00000000006\0', 124, 'latin1'); // size
  block.write('14700000000\0', 136, 'latin1'); // mtime
  block.write('0', 156, 'latin1'); // type: regular file
  block.write(format === 'posix' ? 'ustar\x0000' : 'ustar  \x00', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}
