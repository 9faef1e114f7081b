// Object keys are derived from the photo id, never from caller input beyond a
// vetted extension, so a filename cannot steer where bytes land, and an
// object's row can be found from its key alone (the orphan sweep relies on it).

const EXTENSION = /\.([a-z0-9]{1,10})$/;
const KEY = /^\d{4}\/\d{2}\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.[a-z0-9]{1,10})?$/;

export function objectKey(id: string, originalName: string, now: Date): string {
  const match = EXTENSION.exec(originalName.toLowerCase());
  const year = String(now.getUTCFullYear());
  const month = String(now.getUTCMonth() + 1).padStart(2, '0');
  return `${year}/${month}/${id}${match ? `.${match[1]}` : ''}`;
}

/** The photo id an object key was made from, or null for a key storaged did not make. */
export function photoIdOfKey(key: string): string | null {
  return KEY.exec(key)?.[1] ?? null;
}
