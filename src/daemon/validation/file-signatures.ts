// Documents and archives the sniffer recognises, for operators who allow
// files beside photos (STORAGED_ALLOWED_TYPES; none is allowed by default).
// Only formats whose first bytes say what they are and nothing else: a fixed
// magic number at a fixed offset that text or another format does not start
// with, tightened where the magic alone is short (gzip's method and reserved
// flags, tar's header checksum). Formats that are only recognisable by
// parsing further, or that share a container (docx, odt, epub and jar are
// all ZIP), are stored as the container or not at all: a declared type is
// never taken on trust, so the daemon names only what it can tell.

import { ascii, startsWith } from './magic-bytes';

const ZIP_LOCAL_FILE = [0x50, 0x4b, 0x03, 0x04];
const ZIP_END_OF_DIRECTORY = [0x50, 0x4b, 0x05, 0x06];
/** Markers a split-capable writer puts before the first local header of an archive that fit in one segment (APPNOTE 8.5.3-8.5.5). */
const ZIP_SPAN_MARKERS = [[0x50, 0x4b, 0x07, 0x08], [0x50, 0x4b, 0x30, 0x30]];

function isZip(head: Buffer): boolean {
  if (startsWith(head, ZIP_LOCAL_FILE)) return true;
  if (ZIP_SPAN_MARKERS.some((marker) => startsWith(head, marker)) && startsWith(head, ZIP_LOCAL_FILE, 4)) return true;
  // An empty archive is its end-of-directory record alone: disk numbers, entry
  // counts, directory size and offset all zero; anything else is not a whole archive.
  return startsWith(head, ZIP_END_OF_DIRECTORY) && head.length >= 22 && head.subarray(4, 20).every((b) => b === 0);
}

/** gzip (RFC 1952): magic, the only defined method (deflate), and flags with the reserved bits clear. */
function isGzip(head: Buffer): boolean {
  return startsWith(head, [0x1f, 0x8b, 0x08]) && head.length >= 10 && (head[3]! & 0xe0) === 0;
}

const TAR_BLOCK = 512;
const TAR_CHECKSUM_AT = 148;

/**
 * POSIX and GNU tar: "ustar" at 257, and the header's checksum right. A tar
 * starts with a member's name, which can be anything (even "GIF89a"), so the
 * checksum is what tells a tar header from bytes that happen to match.
 */
export function isTar(head: Buffer): boolean {
  if (head.length < TAR_BLOCK || !(ascii(head, 'ustar\x0000', 257) || ascii(head, 'ustar  \x00', 257))) return false;
  const field = head.subarray(TAR_CHECKSUM_AT, TAR_CHECKSUM_AT + 8).toString('latin1');
  const recorded = /^ *([0-7]{1,7})[ \0]/.exec(field);
  if (recorded === null) return false;
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= TAR_CHECKSUM_AT && i < TAR_CHECKSUM_AT + 8 ? 0x20 : head[i]!;
  return sum === parseInt(recorded[1]!, 8);
}

export function sniffFileType(head: Buffer): string | null {
  // Writers put the version right after the magic ("%PDF-1.7"); asking for it keeps out prose that quotes "%PDF-".
  if (/^%PDF-\d\.\d/.test(head.subarray(0, 8).toString('latin1'))) return 'application/pdf';
  if (isZip(head)) return 'application/zip';
  if (isGzip(head)) return 'application/gzip';
  if (startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return 'application/x-7z-compressed';
  // A zstd frame (RFC 8878). Skippable frames (magic 0x184D2A50-5F) are not taken: they may hold anything.
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'application/zstd';
  return null;
}
