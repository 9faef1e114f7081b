// The commands that read and remove: get, stat, ls, search, rm, url, and the
// daemon's figures (stats). Each
// prints lines for a person, or with --json the client's own objects.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumMismatchError } from '../protocol/errors';
import type { DaemonStats, Photo, SearchQuery } from '../protocol/types';
import { durationOption, intOption, sortOption, UsageError, whenOption, type ParsedArgs } from './cli-args';
import { errorLine, isUnreachable, type Target } from './connection';
import { formatBytes, json, photoLines, recordLines } from './format';

export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WriteStream;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** A pass-through that hashes what goes by, so what was written can be checked against the photo's sha256. */
function hashing(): { stream: Transform; digest: () => string } {
  const hash = createHash('sha256');
  return {
    stream: new Transform({
      transform(chunk, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    }),
    digest: () => hash.digest('hex'),
  };
}

export async function get(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  const output = str(args.values.output);
  if (output === '-' && args.values.json === true) throw new UsageError('--json prints a record on stdout; with -o - the bytes go there', 'get');
  const download = await target.client.readPhoto(args.positionals[0]);
  const { info } = download;
  const check = hashing();
  if (output === '-') {
    await pipeline(download.body, check.stream, io.out, { end: false });
  } else {
    // The stored name is the uploader's: only its last part, and never '.', '..' or nothing (then the id).
    const stored = path.basename(info.original_filename);
    const file = output ?? (stored === '' || stored === '.' || stored === '..' ? info.id : stored);
    if (output === undefined && args.values.force !== true && fs.existsSync(file)) {
      download.body.destroy();
      io.err.write(`storagectl: ${file} exists: give -o FILE, or --force to replace it\n`);
      return 1;
    }
    // Written beside its final name and renamed once whole and checked: an interrupted get leaves no half file.
    const partial = path.join(path.dirname(file), `.${path.basename(file)}.storagectl-${process.pid}`);
    try {
      await pipeline(download.body, check.stream, fs.createWriteStream(partial, { flags: 'wx' }));
      if (check.digest() !== info.checksum) throw new ChecksumMismatchError(`the bytes received do not have the photo's sha256 ${info.checksum}`);
      fs.renameSync(partial, file);
    } catch (err) {
      fs.rmSync(partial, { force: true });
      throw err;
    }
    if (args.values.json === true) io.out.write(json({ id: info.id, file, size: info.size, checksum: info.checksum, mime_type: info.mime_type }));
    else io.err.write(`wrote ${file} (${info.size} bytes)\n`);
    return 0;
  }
  if (check.digest() !== info.checksum) throw new ChecksumMismatchError(`the bytes received do not have the photo's sha256 ${info.checksum}`);
  return 0;
}

export async function stat(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  const photo = await target.client.getPhoto(args.positionals[0]);
  io.out.write(args.values.json === true ? json(photo) : recordLines(photo));
  return 0;
}

interface Page {
  photos: Photo[];
  total: number;
  nextCursor: string | null;
}

/** One page, or with --all every page; a page left unread is pointed to on stderr. */
async function paged(args: ParsedArgs, io: Io, fetchPage: (cursor: string | undefined, limit: number) => Promise<Page>, again: string): Promise<number> {
  const limit = intOption(args.values.limit, 'limit', 1, 1000, args.command) ?? 50;
  let cursor = str(args.values.cursor);
  if (args.values.all === true && cursor !== undefined) throw new UsageError('give --cursor or --all, not both', args.command);
  const photos: Photo[] = [];
  let page: Page;
  do {
    page = await fetchPage(cursor, limit);
    photos.push(...page.photos);
    if (args.values.json !== true) io.out.write(photoLines(page.photos));
    cursor = page.nextCursor ?? undefined;
  } while (args.values.all === true && cursor !== undefined);
  if (args.values.json === true) io.out.write(json({ photos, total: page.total, nextCursor: args.values.all === true ? null : page.nextCursor }));
  else if (args.values.all !== true && page.nextCursor !== null) io.err.write(`${photos.length} shown of ${page.total}; next page: ${again} --cursor ${page.nextCursor}\n`);
  return 0;
}

export function ls(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  const user = str(args.values.user);
  if (user === undefined) throw new UsageError('ls needs --user U', 'ls');
  return paged(
    args,
    io,
    async (cursor, limit) => {
      const page = await target.client.getUserPhotos(user, { limit, ...(cursor !== undefined && { cursor }) });
      return { photos: page.photos, total: page.pagination.total, nextCursor: page.pagination.nextCursor };
    },
    `storagectl ls --user ${user}`,
  );
}

export function search(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  const since = whenOption(args.values.since, 'since', 'search');
  const until = whenOption(args.values.until, 'until', 'search');
  const sort = sortOption(args.values.sort, 'search');
  const types = args.values.type as string[] | undefined;
  const user = str(args.values.user);
  const query: SearchQuery = {
    ...(args.positionals.length > 0 && { query: args.positionals.join(' ') }),
    filters: {
      ...(user !== undefined && { user_id: user }),
      ...(types !== undefined && { mime_type: types }),
      ...((since !== undefined || until !== undefined) && { date_range: { ...(since !== undefined && { start: since }), ...(until !== undefined && { end: until }) } }),
    },
    ...(sort !== undefined && { sort }),
  };
  return paged(
    args,
    io,
    async (cursor, limit) => {
      const result = await target.client.searchPhotos({ ...query, limit, ...(cursor !== undefined && { cursor }) });
      return { photos: result.photos, total: result.total, nextCursor: result.page.nextCursor };
    },
    'the same search with',
  );
}

export async function rm(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  const deleted: string[] = [];
  const failed: { id: string; code: string; message: string }[] = [];
  for (const id of args.positionals) {
    try {
      await target.client.deletePhoto(id);
      deleted.push(id);
      if (args.values.json !== true) io.out.write(`deleted ${id}\n`);
    } catch (err) {
      if (isUnreachable(err)) throw err;
      const code = (err as { code?: unknown }).code;
      failed.push({ id, code: typeof code === 'string' ? code : 'ERROR', message: err instanceof Error ? err.message : String(err) });
      if (args.values.json !== true) io.err.write(`failed ${id}: ${errorLine(err)}\n`);
    }
  }
  if (args.values.json === true) io.out.write(json({ ok: failed.length === 0, deleted, failed }));
  return failed.length === 0 ? 0 : 1;
}

export async function url(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  const expires = durationOption(args.values.expires, 'expires', 'url');
  const id = args.positionals[0];
  const signed = await target.client.getPhotoUrl(id, expires);
  if (args.values.json === true) io.out.write(json({ id, url: signed, ...(expires !== undefined && { expiresInSeconds: expires }) }));
  else io.out.write(`${signed}\n`);
  return 0;
}

function statsLines(s: DaemonStats): string {
  const up = Math.floor(s.uptimeSeconds);
  const uptime = `${Math.floor(up / 86400)}d ${Math.floor((up % 86400) / 3600)}h ${Math.floor((up % 3600) / 60)}m ${up % 60}s`.replace(/^(0[dhm] )+/, '');
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const buckets =
    s.buckets.length === 0
      ? '  (no photos)\n'
      : s.buckets.map((b) => `  ${b.bucket.padEnd(14)} ${String(b.photos).padStart(9)} photos  ${formatBytes(b.bytes).padStart(10)}\n`).join('');
  return [
    `storaged ${s.version}, up ${uptime}\n`,
    `buckets:\n${buckets}`,
    `writer: ${s.writer.transactions} transactions, ${s.writer.writes} writes (mean batch ${s.writer.meanBatch}, largest ${s.writer.largestBatch}), ${s.writer.queueDepth} waiting\n`,
    `workers: ${s.workers.threads} threads, ${(s.workers.utilization * 100).toFixed(1)}% busy, ${s.workers.queueDepth} tasks waiting\n`,
    `event-loop delay: p50 ${ms(s.eventLoopDelayMs.p50)}, p99 ${ms(s.eventLoopDelayMs.p99)}, max ${ms(s.eventLoopDelayMs.max)}\n`,
    `connections: socket ${s.connections.socket}, http ${s.connections.http}\n`,
  ].join('');
}

export async function stats(args: ParsedArgs, target: Target, io: Io): Promise<number> {
  if (target.remote) throw new UsageError('stats is answered over the socket (--socket); over the gateway the same figures are /metrics, with the admin token', 'stats');
  const figures = await target.client.daemonStats();
  io.out.write(args.values.json === true ? json(figures) : statsLines(figures));
  return 0;
}
