// Response headers of a photo's bytes: validators, a safe Content-Disposition,
// and the guards that keep a browser from running what a caller uploaded.

import type * as http from 'node:http';
import { contentDisposition, isBrowserActive } from '../../s3/safe-serving';

export function etagOf(checksum: string): string {
  return `"${checksum}"`;
}

/** If-None-Match (weak comparison, RFC 9110 §13.1.2): `*` or any listed tag equal to ours. */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

export interface ContentDescription {
  mime_type: string;
  original_filename: string;
  checksum: string;
  size: number;
}

export function contentHeaders(photo: ContentDescription): http.OutgoingHttpHeaders {
  return {
    'content-type': photo.mime_type,
    etag: etagOf(photo.checksum),
    'accept-ranges': 'bytes',
    // A type a browser could run is a download even here, CSP notwithstanding.
    'content-disposition': contentDisposition(isBrowserActive(photo.mime_type) ? 'attachment' : 'inline', photo.original_filename),
    // The bytes are a caller's: no sniffing them into something else, no scripts inside (SVG).
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    // Photo ids never point at other bytes, but a delete must not be hidden by caches for long.
    'cache-control': 'private, no-cache',
  };
}
