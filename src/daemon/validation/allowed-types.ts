/** The seed's image whitelist; STORAGED_ALLOWED_TYPES replaces it. */
export const DEFAULT_ALLOWED_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/bmp',
  'image/svg+xml',
];

/** Names callers use for the same type (browsers on Windows send x-zip-compressed for every .zip, some send x-gzip). */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-ms-bmp': 'image/bmp',
  'application/x-zip-compressed': 'application/zip',
  'application/x-gzip': 'application/gzip',
};

export function canonicalMimeType(type: string): string {
  const bare = type.split(';')[0]!.trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}
