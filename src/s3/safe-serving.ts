// What users upload must never run in a browser. Some types a browser will
// execute when opened inline (SVG and HTML scripts, XML with XSLT, PDF with
// its own JavaScript). Where storaged serves bytes itself (the gateway, the
// local backend's URLs) it adds CSP and nosniff; a presigned MinIO URL is
// served by MinIO on MinIO's origin, so for these types the URL carries a
// signed `response-content-disposition=attachment` and an opaque
// `response-content-type`, which MinIO then answers with. Every door uses the
// one Content-Disposition encoder below.

import type { ResponseOverrides } from './sigv4-presigner';

/** Types a browser may execute when shown inline. */
export const BROWSER_ACTIVE_TYPES: ReadonlySet<string> = new Set([
  'image/svg+xml',
  'text/html',
  'application/xhtml+xml',
  'text/xml',
  'application/xml',
  'application/pdf',
  'text/javascript',
  'application/javascript',
]);

/** How a photo is to be served: its original name and its type. */
export interface ServedAs {
  filename: string;
  mimeType: string;
}

export type { ResponseOverrides };

/** RFC 8187 value characters; everything else is percent-encoded. */
function extValue(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** RFC 6266: an ASCII fallback for old clients and the exact UTF-8 name (filename*) for the rest. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${extValue(filename)}`;
}

export function isBrowserActive(mimeType: string): boolean {
  return BROWSER_ACTIVE_TYPES.has(mimeType.split(';')[0]!.trim().toLowerCase());
}

export function responseOverrides(served: ServedAs | undefined): ResponseOverrides | null {
  if (served === undefined || !isBrowserActive(served.mimeType)) return null;
  return { disposition: contentDisposition('attachment', served.filename), contentType: 'application/octet-stream' };
}
