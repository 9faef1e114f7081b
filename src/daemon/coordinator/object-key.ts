// Object keys are derived from the photo id, never from caller input beyond a
// vetted extension, so a filename cannot steer where bytes land.

const EXTENSION = /\.([a-z0-9]{1,10})$/;

export function objectKey(id: string, originalName: string, now: Date): string {
  const match = EXTENSION.exec(originalName.toLowerCase());
  const year = String(now.getUTCFullYear());
  const month = String(now.getUTCMonth() + 1).padStart(2, '0');
  return `${year}/${month}/${id}${match ? `.${match[1]}` : ''}`;
}
