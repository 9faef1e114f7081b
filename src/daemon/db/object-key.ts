// Object keys are derived from the photo id, never from caller input beyond a
// vetted extension, so a filename cannot steer where bytes land, and an
// object's row can be found from its key alone (the orphan sweep relies on it).
//
// Every key starts with the daemon's namespace (STORAGED_NAMESPACE, default
// `storaged`): storaged lists, sweeps and aborts uploads only under it, so
// other applications' objects in the same buckets, and daemons with other
// namespaces, are never touched. Keys made before namespaces existed
// (`2026/11/<uuid>.jpg`) stay readable and are recognised as "legacy".

const EXTENSION = /\.([a-z0-9]{1,10})$/;
const DATED = /^(\d{4})\/(\d{2})\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.[a-z0-9]{1,10})?$/;

/** A namespace is one path segment of safe characters, so it can neither escape nor overlap a dated key. */
export const NAMESPACE = /^[a-z][a-z0-9-]{0,62}$/;
export const DEFAULT_NAMESPACE = 'storaged';

function datedPath(now: Date): string {
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function objectKey(id: string, originalName: string, now: Date, namespace: string = DEFAULT_NAMESPACE): string {
  const match = EXTENSION.exec(originalName.toLowerCase());
  return `${namespace}/${datedPath(now)}/${id}${match ? `.${match[1]}` : ''}`;
}

/**
 * The key prefixes that can hold objects written from `since` to `now`, in
 * the namespace (`storaged/2026/11/`, `storaged/2026/12/`): what a sweep of
 * recent leftovers needs to list instead of the whole bucket.
 */
export function datedPrefixes(namespace: string, since: Date, now: Date): string[] {
  const prefixes: string[] = [];
  const month = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), 1));
  while (month.getTime() <= now.getTime()) {
    prefixes.push(`${namespace}/${datedPath(month)}/`);
    month.setUTCMonth(month.getUTCMonth() + 1);
  }
  return prefixes;
}

export type KeyOwner = { photoId: string; legacy: boolean };

/**
 * Whose key this is: a photo's of this namespace, a legacy key (made before
 * namespaces; any daemon's), or null for a key storaged did not make here
 * (another application's, or another namespace's).
 */
export function keyOwner(key: string, namespace: string = DEFAULT_NAMESPACE): KeyOwner | null {
  if (key.startsWith(`${namespace}/`)) {
    const id = DATED.exec(key.slice(namespace.length + 1))?.[3];
    return id === undefined ? null : { photoId: id, legacy: false };
  }
  const legacy = DATED.exec(key)?.[3];
  return legacy === undefined ? null : { photoId: legacy, legacy: true };
}

/** The photo id an object key was made from (in any namespace, or legacy), or null for a key storaged did not make. */
export function photoIdOfKey(key: string): string | null {
  const slash = key.indexOf('/');
  const inNamespace = slash > 0 && NAMESPACE.test(key.slice(0, slash)) ? DATED.exec(key.slice(slash + 1)) : null;
  return (inNamespace ?? DATED.exec(key))?.[3] ?? null;
}
