// The Content-Type the signed-URL handler serves a local blob with. The local
// backend keeps no per-object type, and a key's extension comes from the
// caller's file name, not from the sniffed bytes: so only media extensions
// map to a type, and anything else (".html", ".js") is served as opaque bytes.

const BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  svg: 'image/svg+xml',
  heic: 'image/heic',
  avif: 'image/avif',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
};

export function servedContentType(key: string): string {
  const match = /\.([a-z0-9]+)$/i.exec(key);
  return (match && BY_EXTENSION[match[1]!.toLowerCase()]) || 'application/octet-stream';
}
