// The embedded default: objects as files under <root>/<bucket>/<key>. A write
// lands in a temp file that is fsynced and renamed into place, then the
// directory is fsynced, so an acknowledged blob survives a crash whole.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { InternalError, NotFoundError, UnavailableError, ValidationError } from '../../protocol/errors';
import { isOlderThan, type BlobHead, type BlobInfo, type BlobSource, type BlobStore, type ByteRange, type IncompleteUpload, type ListedBlob } from './blob-store';
import type { BlobUrlSigner } from './fs-url-signer';
import { identityFromMetadata, identityMetadata, type ObjectIdentity } from './object-identity';
import { diskFullAs } from '../disk-full';
import { responseOverrides, type ServedAs } from '../../s3/safe-serving';

/** Marks a write in progress; list() hides these and abortIncompleteUploads() sweeps the stale ones. */
const TEMP_SUFFIX = '.tmp-upload';
/**
 * An object's identity record lives beside it as `<key>.storaged-identity`
 * (the user metadata S3 would keep); list() hides these. No key storaged
 * makes can end so: extensions are letters and digits only.
 */
const IDENTITY_SUFFIX = '.storaged-identity';
/**
 * One path segment of a bucket or key. Keys are made by the daemon
 * (`2026/11/<uuid>.jpg`), so this can be strict: no separators, NUL, `..` or
 * anything else that could point outside the root.
 */
const SEGMENT = /^[A-Za-z0-9._-]+$/;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  // A local write is as fast as the spool itself: nothing to overlap.
  readonly growingPuts = null;

  constructor(
    readonly root: string,
    private readonly signer: BlobUrlSigner,
  ) {}

  /** The file of an object; throws ValidationError for a name that is not a plain relative path. */
  pathOf(bucket: string, key: string): string {
    const segments = [bucket, ...key.split('/')];
    const valid = segments.every(
      (s) => SEGMENT.test(s) && s !== '.' && s !== '..' && !s.endsWith(TEMP_SUFFIX) && !s.endsWith(IDENTITY_SUFFIX),
    );
    if (!valid || bucket.startsWith('.')) throw new ValidationError(`invalid object name ${JSON.stringify(`${bucket}/${key}`)}`);
    return path.join(this.root, ...segments);
  }

  async ensureBuckets(buckets: readonly string[]): Promise<void> {
    for (const bucket of buckets) {
      if (!SEGMENT.test(bucket) || bucket.startsWith('.')) throw new ValidationError(`invalid bucket name ${JSON.stringify(bucket)}`);
      await this.#makeDirs(path.join(this.root, bucket));
    }
  }

  /** mkdir -p, then fsyncs the parents of whatever it created, so new directories survive a crash too. */
  async #makeDirs(dir: string): Promise<void> {
    const first = await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    if (first === undefined) return;
    for (let d = dir; ; d = path.dirname(d)) {
      await fsyncDir(path.dirname(d));
      if (d === first || path.dirname(d) === d) break;
    }
  }

  /** The content type is not kept: the local backend serves by key extension (see served-content-type.ts). */
  async put(
    bucket: string,
    key: string,
    source: BlobSource,
    size: number,
    _contentType?: string,
    _sha256?: string,
    _signal?: AbortSignal,
    identity?: ObjectIdentity,
  ): Promise<void> {
    const target = this.pathOf(bucket, key);
    const dir = path.dirname(target);
    await this.#makeDirs(dir);
    const temp = `${target}.${randomUUID()}${TEMP_SUFFIX}`;
    try {
      // The record goes into place first: a blob is never there without it, and the one
      // directory fsync below makes both renames durable.
      if (identity !== undefined) await this.#writeIdentity(target, identity);
      // copyFile uses the kernel's copy (copy_file_range), no bytes through JS.
      if ('path' in source) await fs.promises.copyFile(source.path, temp, fs.constants.COPYFILE_EXCL);
      const handle = await fs.promises.open(temp, 'path' in source ? 'r+' : 'wx', 0o600);
      try {
        if ('buffer' in source) await handle.writeFile(source.buffer);
        await handle.sync();
        const { size: written } = await handle.stat();
        if (written !== size) throw new InternalError(`blob ${bucket}/${key}: wrote ${written} bytes, expected ${size}`);
      } finally {
        await handle.close();
      }
      await fs.promises.rename(temp, target);
      await fsyncDir(dir);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      if (identity !== undefined) await fs.promises.rm(`${target}${IDENTITY_SUFFIX}`, { force: true });
      throw diskFullAs(err, `the blob directory ${this.root}`);
    }
  }

  async #writeIdentity(target: string, identity: ObjectIdentity): Promise<void> {
    const temp = `${target}${IDENTITY_SUFFIX}.${randomUUID()}${TEMP_SUFFIX}`;
    const handle = await fs.promises.open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(identityMetadata(identity)));
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    await fs.promises.rename(temp, `${target}${IDENTITY_SUFFIX}`);
  }

  async identity(bucket: string, key: string): Promise<ObjectIdentity | null> {
    return (await this.head(bucket, key))?.identity ?? null;
  }

  async head(bucket: string, key: string): Promise<BlobHead | null> {
    const info = await this.stat(bucket, key);
    // A record whose blob is gone (a removal cut short) says nothing.
    return info === null ? null : { ...info, identity: await this.#identityRecord(this.pathOf(bucket, key)) };
  }

  async #identityRecord(file: string): Promise<ObjectIdentity | null> {
    let text: string;
    try {
      text = await fs.promises.readFile(`${file}${IDENTITY_SUFFIX}`, 'utf8');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null ? identityFromMetadata(parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  async stat(bucket: string, key: string): Promise<BlobInfo | null> {
    try {
      const st = await fs.promises.stat(this.pathOf(bucket, key));
      return st.isFile() ? { size: st.size, lastModified: st.mtime } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async remove(bucket: string, key: string): Promise<void> {
    const file = this.pathOf(bucket, key);
    await fs.promises.rm(file, { force: true });
    await fs.promises.rm(`${file}${IDENTITY_SUFFIX}`, { force: true });
    // Make the removal durable as well: the delete protocol drops the row right after.
    try {
      await fsyncDir(path.dirname(file));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  async presignedGetUrl(bucket: string, key: string, expirySeconds: number, served?: ServedAs): Promise<string> {
    this.pathOf(bucket, key);
    return this.signer.sign(bucket, key, expirySeconds, Date.now(), responseOverrides(served));
  }

  async read(bucket: string, key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(bucket, key);
    // Open first so a missing file rejects here rather than as a stream error later.
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, 'r');
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`blob ${bucket}/${key} does not exist`, { cause: err });
      throw err;
    }
    return handle.createReadStream(range === undefined ? {} : { start: range.start, end: range.end });
  }

  /** Every file under dir (recursively), as paths relative to dir; tolerates entries vanishing meanwhile. */
  async *#walk(dir: string, prefix: string): AsyncGenerator<{ name: string; full: string; rel: string }> {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) yield* this.#walk(full, rel);
      else if (entry.isFile()) yield { name: entry.name, full, rel };
    }
  }

  async *list(bucket: string, prefix = ''): AsyncIterable<ListedBlob> {
    // Walk only the directory the prefix names, as S3 would list only those keys.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart === '' ? path.join(this.root, bucket) : this.pathOf(bucket, dirPart);
    for await (const file of this.#walk(start, dirPart)) {
      if (file.name.endsWith(TEMP_SUFFIX) || file.name.endsWith(IDENTITY_SUFFIX) || !file.rel.startsWith(prefix)) continue;
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(file.full);
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      yield { key: file.rel, size: st.size, lastModified: st.mtime };
    }
  }

  /** The local counterpart of an incomplete multipart upload: a temp file a crash left behind. */
  async abortIncompleteUploads(bucket: string, olderThanMs: number, key?: string, spare?: (key: string) => boolean | Promise<boolean>): Promise<number> {
    const now = Date.now();
    let removed = 0;
    // With a key, only that object's: another store's write in progress is not stale.
    for await (const upload of this.incompleteUploads(bucket, key)) {
      if (!isOlderThan(upload.initiated, olderThanMs, now) || (await spare?.(upload.key)) === true) continue;
      try {
        await fs.promises.unlink(path.join(this.root, bucket, upload.uploadId));
        removed++;
      } catch (err) {
        // A write that just finished renamed it away: not stale after all.
        if (!isMissing(err)) throw err;
      }
    }
    return removed;
  }

  async *incompleteUploads(bucket: string, key?: string): AsyncIterable<IncompleteUpload> {
    for await (const file of this.#walk(path.join(this.root, bucket), '')) {
      if (!file.name.endsWith(TEMP_SUFFIX)) continue;
      // `<key>.<uuid>.tmp-upload`, as put() names it.
      const of = keyOfTempFile(file.rel);
      if (key !== undefined && of !== key) continue;
      let initiated: Date;
      try {
        initiated = (await fs.promises.stat(file.full)).mtime;
      } catch (err) {
        if (isMissing(err)) continue; // the write finished meanwhile
        throw err;
      }
      // The uploadId is the temp file's path in the bucket, which abortIncompleteUploads removes.
      yield { key: of, uploadId: file.rel, initiated };
    }
  }

  async ping(): Promise<void> {
    try {
      await fs.promises.access(this.root, fs.constants.W_OK);
      if (!(await fs.promises.stat(this.root)).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw new UnavailableError(`blob directory ${this.root} is not a writable directory`, { cause: err });
    }
  }
}

/** `<key>.<uuid>.tmp-upload` (or `<key>.storaged-identity.<uuid>.tmp-upload`), as put() names them → `<key>`. */
function keyOfTempFile(rel: string): string {
  const named = rel.slice(0, -TEMP_SUFFIX.length).replace(/\.[^./]+$/, '');
  return named.endsWith(IDENTITY_SUFFIX) ? named.slice(0, -IDENTITY_SUFFIX.length) : named;
}
