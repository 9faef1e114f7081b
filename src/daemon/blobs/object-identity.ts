// What every object storaged writes says about itself, so that the catalog is
// never the only record of what exists (DESIGN.md "Recoverability"): a lost
// or restored catalog can be rebuilt from these, and the orphan sweep can tell
// storaged's own objects, written while this very catalog was live, from
// anything else in the buckets.
//
// On MinIO/S3 it travels as user metadata (`x-amz-meta-storaged-*`); the local
// backend keeps the same record in a file beside the blob. Values are
// percent-encoded UTF-8, so any filename survives headers that must be ASCII.

/** Bumped when the record's meaning changes; a reader refuses versions it does not know. */
export const IDENTITY_SCHEMA = 1;

export interface ObjectIdentity {
  id: string;
  /** The catalog (catalog_identity.catalog_id) whose store wrote the object. */
  catalogId: string;
  clientId: string;
  userId: string | null;
  sessionId: string | null;
  originalFilename: string;
  mimeType: string;
  /**
   * Known when the put began with the whole body in hand; null for an upload
   * begun while the body was still arriving (its object's own size and bytes
   * then tell them, and a rebuild hashes the bytes).
   */
  size: number | null;
  sha256: string | null;
  /** ISO-8601 UTC, the row's uploaded_at. */
  uploadedAt: string;
}

const PREFIX = 'storaged-';
const FIELDS = {
  schema: `${PREFIX}schema`,
  id: `${PREFIX}id`,
  catalogId: `${PREFIX}catalog`,
  clientId: `${PREFIX}client`,
  userId: `${PREFIX}user`,
  sessionId: `${PREFIX}session`,
  originalFilename: `${PREFIX}filename`,
  mimeType: `${PREFIX}type`,
  size: `${PREFIX}size`,
  sha256: `${PREFIX}sha256`,
  uploadedAt: `${PREFIX}uploaded`,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const CATALOG_ID = /^[0-9a-f]{32}$/;

/** User metadata names (without `x-amz-meta-`) and values, all ASCII. */
export function identityMetadata(identity: ObjectIdentity): Record<string, string> {
  const meta: Record<string, string> = {
    [FIELDS.schema]: String(IDENTITY_SCHEMA),
    [FIELDS.id]: identity.id,
    [FIELDS.catalogId]: identity.catalogId,
    [FIELDS.clientId]: encodeURIComponent(identity.clientId),
    [FIELDS.originalFilename]: encodeURIComponent(identity.originalFilename),
    [FIELDS.mimeType]: encodeURIComponent(identity.mimeType),
    [FIELDS.uploadedAt]: identity.uploadedAt,
  };
  if (identity.userId !== null) meta[FIELDS.userId] = encodeURIComponent(identity.userId);
  if (identity.sessionId !== null) meta[FIELDS.sessionId] = encodeURIComponent(identity.sessionId);
  if (identity.size !== null) meta[FIELDS.size] = String(identity.size);
  if (identity.sha256 !== null) meta[FIELDS.sha256] = identity.sha256;
  return meta;
}

/** The same, as request headers of a PUT or of a multipart upload's initiation. */
export function identityHeaders(identity: ObjectIdentity): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(identityMetadata(identity))) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

function decoded(value: string | undefined): string | null {
  if (value === undefined) return null;
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * Reads an identity back from user metadata (names lower-case, with or without
 * `x-amz-meta-`); null when the object carries none, or one that is malformed
 * or of an unknown schema: such an object is never taken for storaged's.
 */
export function identityFromMetadata(metadata: Record<string, unknown>): ObjectIdentity | null {
  const meta: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    const lower = name.toLowerCase();
    const bare = lower.startsWith('x-amz-meta-') ? lower.slice('x-amz-meta-'.length) : lower;
    if (bare.startsWith(PREFIX) && typeof value === 'string') meta[bare] = value;
  }
  if (meta[FIELDS.schema] !== String(IDENTITY_SCHEMA)) return null;
  const id = meta[FIELDS.id];
  const catalogId = meta[FIELDS.catalogId];
  const uploadedAt = meta[FIELDS.uploadedAt];
  const clientId = decoded(meta[FIELDS.clientId]);
  const originalFilename = decoded(meta[FIELDS.originalFilename]);
  const mimeType = decoded(meta[FIELDS.mimeType]);
  if (id === undefined || !UUID.test(id) || catalogId === undefined || !CATALOG_ID.test(catalogId)) return null;
  if (uploadedAt === undefined || !ISO_TIME.test(uploadedAt) || Number.isNaN(Date.parse(uploadedAt))) return null;
  if (!clientId || !originalFilename || !mimeType) return null;
  const userId = meta[FIELDS.userId] === undefined ? null : decoded(meta[FIELDS.userId]);
  const sessionId = meta[FIELDS.sessionId] === undefined ? null : decoded(meta[FIELDS.sessionId]);
  if ((meta[FIELDS.userId] !== undefined && !userId) || (meta[FIELDS.sessionId] !== undefined && !sessionId)) return null;
  const sizeText = meta[FIELDS.size];
  const size = sizeText === undefined ? null : Number(sizeText);
  if (size !== null && (!/^\d{1,16}$/.test(sizeText!) || !Number.isSafeInteger(size))) return null;
  const sha256 = meta[FIELDS.sha256] ?? null;
  if (sha256 !== null && !HEX64.test(sha256)) return null;
  return { id, catalogId, clientId, userId, sessionId, originalFilename, mimeType, size, sha256, uploadedAt };
}
