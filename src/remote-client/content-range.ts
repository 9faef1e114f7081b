// readPhoto over HTTP: the caller's { start, end } becomes a Range header, and
// the answer's headers (Content-Type, ETag, Content-Range, Content-Disposition)
// become the same PhotoContentInfo the sidecar delivers.

import type { IncomingHttpHeaders } from 'node:http';
import { ProtocolError, ValidationError } from '../protocol/errors';
import type { ByteRangeRequest, PhotoContentInfo } from '../protocol/types';

function offset(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`range.${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The Range header for a request, or null for the whole photo. Checked here
 * because HTTP ignores a malformed Range and answers the whole photo, where
 * the sidecar refuses it.
 */
export function rangeHeader(range: ByteRangeRequest | undefined): string | null {
  if (range === undefined || range === null) return null;
  if (typeof range !== 'object' || Array.isArray(range)) throw new ValidationError('range must be an object { start?, end? }');
  const unknownKey = Object.keys(range).find((key) => key !== 'start' && key !== 'end');
  if (unknownKey !== undefined) throw new ValidationError(`range has an unknown field '${unknownKey}'`);
  const start = offset('start', range.start) ?? 0;
  const end = offset('end', range.end);
  if (end !== undefined && end < start) throw new ValidationError(`range.end (${end}) is before range.start (${start})`);
  if (start === 0 && end === undefined) return null;
  return `bytes=${start}-${end ?? ''}`;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function required(headers: IncomingHttpHeaders, name: string): string {
  const value = single(headers, name);
  if (value === undefined || value === '') throw new ProtocolError(`the gateway's content answer has no ${name} header`);
  return value;
}

function integer(text: string, what: string): number {
  if (!/^\d{1,16}$/.test(text)) throw new ProtocolError(`the gateway sent a malformed ${what}: '${text}'`);
  return Number(text);
}

/** RFC 6266: filename* (UTF-8, percent-encoded) wins over the ASCII fallback filename. */
export function dispositionFilename(value: string | undefined): string | null {
  if (value === undefined) return null;
  const extended = /filename\*\s*=\s*UTF-8''([^;\s]+)/i.exec(value);
  if (extended !== null) {
    try {
      return decodeURIComponent(extended[1]!);
    } catch {
      // Fall through to the plain form.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(value);
  if (plain === null) return null;
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2]!;
}

export function contentInfo(id: string, status: number, headers: IncomingHttpHeaders): PhotoContentInfo {
  const etag = /^(?:W\/)?"([0-9a-f]{64})"$/.exec(required(headers, 'etag'));
  if (etag === null) throw new ProtocolError(`the gateway sent an ETag that is not a quoted sha256: '${single(headers, 'etag')}'`);
  const length = integer(required(headers, 'content-length'), 'Content-Length');
  let start = 0;
  let end = length - 1;
  let size = length;
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(required(headers, 'content-range'));
    if (range === null) throw new ProtocolError(`the gateway sent a malformed Content-Range: '${single(headers, 'content-range')}'`);
    [start, end, size] = [integer(range[1]!, 'range start'), integer(range[2]!, 'range end'), integer(range[3]!, 'size')];
    if (end < start || end >= size || end - start + 1 !== length) {
      throw new ProtocolError(`the gateway's Content-Range ${range[0]} does not match its Content-Length ${length}`);
    }
  }
  return {
    id,
    mime_type: required(headers, 'content-type'),
    original_filename: dispositionFilename(single(headers, 'content-disposition')) ?? '',
    checksum: etag[1]!,
    size,
    start,
    end,
    length,
  };
}
