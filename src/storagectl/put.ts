// `storagectl put FILE|DIR...`: every file named, and every file under the
// directories named (recursively, in name order; symbolic links to files are
// followed, to directories not, so a loop cannot trap it), stored with up to
// --concurrency stores in flight. A file that fails is reported and the rest
// go on; the exit status says whether all went in. A file whose store fails
// with a retryable error (UNAVAILABLE, TIMEOUT, a lost answer) is sent again
// from its start, as the client's retry policy paces it, under the same
// idempotency key, so that a store whose answer was lost is not made twice.
// A daemon that still cannot be reached after those tries stops the run:
// every other file would fail the same.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StorePhotoOptions } from '../protocol/types';
import { RetryPolicy } from '../sidecar-client/retry-policy';
import { intOption, metadataOption, type ParsedArgs } from './cli-args';
import { errorLine, isUnreachable, type Target } from './connection';
import { formatBytes, json } from './format';
import { putReporter } from './put-progress';

interface FileEntry {
  file: string;
  size: number;
}

interface Collected {
  files: FileEntry[];
  problems: { file: string; reason: string }[];
}

async function collect(paths: string[]): Promise<Collected> {
  const out: Collected = { files: [], problems: [] };
  const visit = async (file: string, top: boolean): Promise<void> => {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch (err) {
      out.problems.push({ file, reason: errorLine(err) });
      return;
    }
    if (stat.isFile()) {
      out.files.push({ file, size: stat.size });
      return;
    }
    if (!stat.isDirectory()) {
      if (top) out.problems.push({ file, reason: 'not a regular file or a directory' });
      return;
    }
    if (!top && (await fs.promises.lstat(file)).isSymbolicLink()) return;
    let entries: string[];
    try {
      entries = (await fs.promises.readdir(file)).sort();
    } catch (err) {
      out.problems.push({ file, reason: errorLine(err) });
      return;
    }
    for (const name of entries) await visit(path.join(file, name), false);
  };
  for (const p of paths) await visit(p, true);
  return out;
}

export async function put(args: ParsedArgs, target: Target, io: { out: NodeJS.WritableStream; err: NodeJS.WriteStream }): Promise<number> {
  const concurrency = intOption(args.values.concurrency, 'concurrency', 1, 64, 'put') ?? 4;
  const metadata = metadataOption(args.values.metadata, 'put');
  const asJson = args.values.json === true;
  const base: Omit<StorePhotoOptions, 'originalName'> = {
    clientId: target.clientId,
    ...(typeof args.values.user === 'string' && { userId: args.values.user }),
    ...(typeof args.values.session === 'string' && { sessionId: args.values.session }),
    ...(metadata !== undefined && { metadata }),
  };

  // The client tries a stream once (it cannot replay it); put has the file, so it can.
  const retry = new RetryPolicy(undefined);
  const started = Date.now();
  const { files, problems } = await collect(args.positionals);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const reporter = putReporter({ bar: io.err.isTTY === true, lines: !asJson, out: io.out, err: io.err });
  const stored: { file: string; id: string; bucket: string; size: number; checksum: string }[] = [];
  const failed: { file: string; code: string; message: string }[] = [];
  const fail = (file: string, err: unknown) => {
    const code = (err as { code?: unknown }).code;
    failed.push({ file, code: typeof code === 'string' ? code : 'ERROR', message: err instanceof Error ? err.message : String(err) });
    reporter.failed(file, errorLine(err));
  };

  reporter.start(files.length + problems.length, totalBytes);
  for (const p of problems) fail(p.file, Object.assign(new Error(p.reason), { code: 'UNREADABLE' }));
  let next = 0;
  let unreachable: unknown = null;
  const worker = async () => {
    while (unreachable === null && next < files.length) {
      const { file, size } = files[next++];
      // The furthest any try got: a try sent again from the start moves the bar only past it.
      let shown = 0;
      // Counted as the client pulls each piece, so the bar follows what is sent (a 'data' listener would set the stream flowing before the client reads it).
      async function* counted(): AsyncGenerator<Uint8Array> {
        let sent = 0;
        for await (const chunk of fs.createReadStream(file)) {
          sent += (chunk as Buffer).length;
          if (sent > shown) {
            reporter.progress(sent - shown);
            shown = sent;
          }
          yield chunk as Buffer;
        }
      }
      // One key for all of a file's tries: a try whose answer was lost is answered, when tried again, with its photo.
      const options = { ...base, originalName: path.basename(file), size, idempotencyKey: randomUUID() };
      try {
        const result = await retry.run(() => target.client.storePhoto(counted(), options), undefined);
        stored.push({ file, id: result.id, bucket: result.bucket, size: result.size, checksum: result.checksum });
        reporter.stored(file, `${result.id} ${result.size}`);
      } catch (err) {
        if (isUnreachable(err)) {
          unreachable ??= err;
          return;
        }
        reporter.progress(size - shown);
        fail(file, err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  } finally {
    reporter.stop();
  }
  if (unreachable !== null) throw unreachable;

  const seconds = (Date.now() - started) / 1000;
  if (asJson) {
    io.out.write(json({ ok: failed.length === 0, stored, failed, bytes: stored.reduce((s, f) => s + f.size, 0), seconds }));
  } else {
    const bytes = formatBytes(stored.reduce((s, f) => s + f.size, 0));
    io.err.write(`stored ${stored.length} of ${stored.length + failed.length} files (${bytes}) in ${seconds.toFixed(1)} s${failed.length > 0 ? `; ${failed.length} failed` : ''}\n`);
  }
  return failed.length === 0 ? 0 : 1;
}
