/**
 * The seed's image whitelist without SVG: an SVG can carry scripts, so one
 * opened from its URL is stored cross-site scripting unless every door serves
 * it as a download. They do (safe-serving.ts), but a type that can run is
 * for the operator to allow knowingly (STORAGED_ALLOWED_TYPES replaces this).
 */
export const DEFAULT_ALLOWED_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/bmp'];

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
