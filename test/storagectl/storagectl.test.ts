// storagectl as an operator uses it: the compiled binary in its own process,
// against a real daemon (in its own process, on a real MinIO), over the socket
// and over the gateway. What it prints is parsed (--json) or matched line by
// line; exit statuses are the contract (0 done, 1 a call failed, 2 usage,
// 3 unreachable).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DaemonStats, Photo } from '../../src/protocol/types';
import { spawnDaemon } from '../support/daemon-process';
import { daemonEnv } from '../support/daemon-env';
import { pngBytes, sha256 } from '../support/image-bytes';
import { startMinio } from '../support/minio-server';
import { tempDir } from '../support/temp-dir';
import { ctl, ctlOnTerminal, imageTree } from './storagectl-run';

const TOKEN = 'ops-token-0123456789abcdef';
const TOKENS = `${TOKEN} ops admin`;

interface PutJson {
  ok: boolean;
  stored: { file: string; id: string; bucket: string; size: number; checksum: string }[];
  failed: { file: string; code: string; message: string }[];
}

test('500 images in with --concurrency 8, then ls, search, get, stat, url, stats, rm, check', { timeout: 600_000 }, async (t) => {
  const minio = await startMinio(t);
  const dataDir = tempDir(t);
  const env = daemonEnv(dataDir, minio, { STORAGED_TOKENS: TOKENS });
  const daemon = await spawnDaemon(t, env);
  const conn = { STORAGED_SOCKET: daemon.socketPath, STORAGED_CLIENT_ID: 'ops', STORAGED_TOKEN: TOKEN };

  const work = tempDir(t, 'storagectl-');
  const files = imageTree(path.join(work, 'photos'), 500);
  const put = await ctl(['put', path.join(work, 'photos'), '--concurrency', '8', '--user', 'alice', '--metadata', 'trip=2026', '--json'], conn);
  assert.equal(put.code, 0, put.err);
  const putDoc = JSON.parse(put.out) as PutJson;
  assert.equal(putDoc.ok, true);
  assert.equal(putDoc.failed.length, 0);
  assert.equal(putDoc.stored.length, 500);
  for (const s of putDoc.stored) assert.equal(s.checksum, sha256(files.get(s.file)!), s.file);
  const idOf = new Map(putDoc.stored.map((s) => [s.id, s.file]));
  assert.equal(idOf.size, 500);

  await t.test('ls --all --json lists every photo of the user', async () => {
    const r = await ctl(['ls', '--user', 'alice', '--all', '--json'], conn);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { photos: Photo[]; total: number; nextCursor: string | null };
    assert.equal(doc.total, 500);
    assert.equal(doc.nextCursor, null);
    assert.deepEqual(new Set(doc.photos.map((p) => p.id)), new Set(idOf.keys()));
  });

  await t.test('ls pages: a page per call, the next one named on stderr', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const r = await ctl(['ls', '--user', 'alice', '--limit', '200', ...(cursor === null ? [] : ['--cursor', cursor])], conn);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n').filter(Boolean);
      for (const line of lines) seen.push(line.split(/\s+/)[0]);
      const next = /--cursor (\S+)/.exec(r.err);
      if (next === null) {
        assert.equal(lines.length, 100, 'the last page holds the rest');
        break;
      }
      assert.equal(lines.length, 200);
      assert.match(r.err, /^200 shown of 500; next page: storagectl ls --user alice --cursor /);
      cursor = next[1];
    }
    assert.equal(seen.length, 500);
    assert.deepEqual(new Set(seen), new Set(idOf.keys()));
  });

  await t.test('search by word, type, time and sort', async () => {
    const beach = await ctl(['search', 'beach', '--all', '--json'], conn);
    assert.equal(beach.code, 0, beach.err);
    const found = (JSON.parse(beach.out) as { photos: Photo[] }).photos;
    assert.equal(found.length, 100);
    for (const p of found) {
      assert.match(p.original_filename, /^beach-\d+\.jpg$/);
      assert.equal(p.mime_type, 'image/jpeg');
    }

    const png = await ctl(['search', '--type', 'image/png', '--since', '1h', '--sort', 'size:asc', '--limit', '1000', '--json'], conn);
    assert.equal(png.code, 0, png.err);
    const sizes = (JSON.parse(png.out) as { photos: Photo[] }).photos.map((p) => p.size);
    assert.equal(sizes.length, 400);
    assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b), '--sort size:asc');

    const future = await ctl(['search', 'beach', '--since', '2999-01-01', '--json'], conn);
    assert.equal(future.code, 0, future.err);
    assert.equal((JSON.parse(future.out) as { total: number }).total, 0);
  });

  const [firstId, secondId, thirdId] = [...idOf.keys()];

  await t.test('get writes the bytes stored, to a file or to stdout', async () => {
    const target = path.join(work, 'back.bin');
    const r = await ctl(['get', firstId, '-o', target, '--json'], conn);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fs.readFileSync(target), files.get(idOf.get(firstId)!));
    assert.equal((JSON.parse(r.out) as { file: string }).file, target);

    const piped = await ctl(['get', secondId, '-o', '-'], conn);
    assert.equal(piped.code, 0, piped.err);
    assert.deepEqual(piped.stdout, files.get(idOf.get(secondId)!));

    const again = await ctl(['get', firstId, '-o', target], conn);
    assert.equal(again.code, 0, 'an explicit -o replaces the file');

    // Without -o: the stored file name in the current directory, never over a file already there unless --force.
    const cwd = path.join(work, 'here');
    fs.mkdirSync(cwd);
    const name = path.basename(idOf.get(thirdId)!);
    assert.equal((await ctl(['get', thirdId], conn, cwd)).code, 0);
    assert.deepEqual(fs.readFileSync(path.join(cwd, name)), files.get(idOf.get(thirdId)!));
    const refused = await ctl(['get', thirdId], conn, cwd);
    assert.equal(refused.code, 1);
    assert.match(refused.err, new RegExp(`^storagectl: ${name.replace('.', '\\.')} exists: give -o FILE, or --force`));
    assert.equal((await ctl(['get', thirdId, '--force'], conn, cwd)).code, 0);
    assert.deepEqual(fs.readdirSync(cwd), [name], 'no partial file left beside it');
  });

  await t.test('stat and url', async () => {
    const r = await ctl(['stat', thirdId, '--json'], conn);
    assert.equal(r.code, 0, r.err);
    const photo = JSON.parse(r.out) as Photo;
    assert.equal(photo.id, thirdId);
    assert.equal(photo.original_filename, path.basename(idOf.get(thirdId)!));
    assert.equal(photo.user_id, 'alice');
    assert.deepEqual(photo.metadata, { trip: '2026' });
    const plain = await ctl(['stat', thirdId], conn);
    assert.match(plain.out, new RegExp(`^id: ${thirdId}$`, 'm'));

    const u = await ctl(['url', thirdId, '--expires', '10m', '--json'], conn);
    assert.equal(u.code, 0, u.err);
    const signed = JSON.parse(u.out) as { url: string; expiresInSeconds: number };
    assert.equal(signed.expiresInSeconds, 600);
    const fetched = Buffer.from(await (await fetch(signed.url)).arrayBuffer());
    assert.deepEqual(fetched, files.get(idOf.get(thirdId)!), 'the signed URL serves the photo');
  });

  await t.test('stats: the daemon\'s figures over the socket, authenticated', async () => {
    const r = await ctl(['stats', '--json'], conn);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as DaemonStats;
    const bytes = [...files.values()].reduce((n, b) => n + b.length, 0);
    assert.deepEqual(s.buckets, [{ bucket: 'images', photos: 500, bytes }]);
    assert.ok(s.writer.writes >= 1000, 'a pending insert and a commit per store');
    assert.ok(s.writer.transactions > 0 && s.writer.meanBatch >= 1);
    assert.ok(s.writer.largestBatch >= 1);
    assert.equal(s.writer.queueDepth, 0);
    assert.ok(s.workers.threads >= 1);
    assert.ok(s.connections.socket >= 1, 'this call\'s own connection');
    assert.ok(s.uptimeSeconds > 0);
    assert.ok(s.eventLoopDelayMs.max >= s.eventLoopDelayMs.p50);

    const plain = await ctl(['stats'], conn);
    assert.match(plain.out, /^buckets:\n  images +500 photos/m);
    assert.match(plain.out, /^writer: \d+ transactions, \d+ writes/m);

    // The same figures as /metrics.
    const metrics = await (await fetch(`${daemon.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(metrics, /^storaged_catalog_photos\{bucket="images"\} 500$/m);
    assert.match(metrics, new RegExp(`^storaged_catalog_bytes\\{bucket="images"\\} ${bytes}$`, 'm'));
    assert.match(metrics, /^storaged_writer_queue_depth 0$/m);
    assert.match(metrics, /^storaged_open_connections\{door="http"\} [1-9]/m);
    assert.match(metrics, /^storaged_uptime_seconds \d/m);

    const anonymous = await ctl(['stats'], { STORAGED_SOCKET: daemon.socketPath, STORAGED_CLIENT_ID: 'ops' });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.err, /^storagectl: UNAUTHORIZED: .*--token/);
  });

  await t.test('rm deletes each id; one that fails is reported and the rest go on', async () => {
    const doomed = [...idOf.keys()].slice(0, 10);
    const r = await ctl(['rm', ...doomed.slice(0, 5), '00000000-0000-4000-8000-000000000000', ...doomed.slice(5), '--json'], conn);
    assert.equal(r.code, 1, 'not every id was deleted');
    const doc = JSON.parse(r.out) as { ok: boolean; deleted: string[]; failed: { id: string; code: string }[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.deleted, doomed);
    assert.deepEqual(doc.failed.map((f) => f.code), ['NOT_FOUND']);

    const gone = await ctl(['stat', doomed[0]], conn);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /^storagectl: NOT_FOUND: /);
    const ls = await ctl(['ls', '--user', 'alice', '--limit', '1', '--json'], conn);
    assert.equal((JSON.parse(ls.out) as { total: number }).total, 490);
  });

  await t.test('check, backup and restore: the daemon\'s own operations, run with the daemon\'s settings', async () => {
    const r = await ctl(['check', '--verify-checksums', '--json'], env);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.equal(JSON.parse(r.out).ok, true);
    const backup = await ctl(['backup'], env);
    assert.equal(backup.code, 0, backup.err);
    const manifest = JSON.parse(backup.out) as { name: string; size: number };
    assert.ok(manifest.size > 0);
    const list = await ctl(['backup', '--list', '--json'], env);
    assert.equal(list.code, 0, list.err);
    assert.ok((JSON.parse(list.out) as { name: string }[]).some((b) => b.name === manifest.name), list.out);
    const refused = await ctl(['--socket', daemon.socketPath, 'restore'], { ...env, STORAGED_SOCKET: '/nonexistent.sock' });
    assert.notEqual(refused.code, 0, 'restore refuses while the daemon --socket names answers');
    assert.ok(refused.err.includes(`the daemon is running (its socket ${daemon.socketPath} answers)`), refused.err);
  });

  await t.test('put goes on past a file that fails and says so in its exit status', async () => {
    const dir = path.join(work, 'mixed');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a.png'), pngBytes(3000));
    fs.writeFileSync(path.join(dir, 'b-notes.txt'), 'not an image\n');
    fs.writeFileSync(path.join(dir, 'c.png'), pngBytes(4000));
    const r = await ctl(['put', dir, '--user', 'bob'], conn);
    assert.equal(r.code, 1);
    const stored = r.out.split('\n').filter(Boolean);
    assert.equal(stored.length, 2);
    for (const line of stored) assert.match(line, /^stored \S+\/[ac]\.png [0-9a-f-]{36} \d+$/);
    assert.match(r.err, /^failed \S+\/b-notes\.txt: UNSUPPORTED_TYPE: /m);
    assert.match(r.err, /^stored 2 of 3 files .*; 1 failed$/m);
  });
});

test('progress: a bar on a terminal, one plain line per file otherwise', { timeout: 300_000 }, async (t) => {
  const dataDir = tempDir(t);
  const daemon = await spawnDaemon(t, daemonEnv(dataDir, null));
  const conn = { STORAGED_SOCKET: daemon.socketPath, STORAGED_CLIENT_ID: 'ops' };
  const work = tempDir(t, 'storagectl-');
  imageTree(path.join(work, 'tty'), 30);
  imageTree(path.join(work, 'plain'), 30);

  const tty = await ctlOnTerminal(['put', path.join(work, 'tty'), '--concurrency', '4', '--user', 'carol'], conn);
  assert.equal(tty.code, 0, tty.out);
  // cli-progress redraws the line in place: the cursor goes to column 1 and the line is cleared to its end.
  assert.match(tty.out, /\x1b\[1G/);
  assert.match(tty.out, /\d+% 30\/30 files [\d.]+ KiB\/[\d.]+ KiB [\d.]+ [KM]?i?B\/s ETA \d+s/, 'files, bytes, rate and ETA');
  assert.match(tty.out, /stored 30 of 30 files/);
  assert.doesNotMatch(tty.out, /^stored \S+ [0-9a-f-]{36}/m, 'no per-file lines under the bar');

  const plain = await ctl(['put', path.join(work, 'plain'), '--concurrency', '4', '--user', 'carol'], conn);
  assert.equal(plain.code, 0, plain.err);
  const lines = plain.out.split('\n').filter(Boolean);
  assert.equal(lines.length, 30);
  for (const line of lines) assert.match(line, /^stored \S+\.(png|jpg) [0-9a-f-]{36} \d+$/);
  assert.doesNotMatch(plain.out + plain.err, /\x1b|ETA/, 'no terminal codes in plain mode');
  assert.match(plain.err, /^stored 30 of 30 files \([\d.]+ KiB\) in [\d.]+ s$/m);
});

test('the gateway with --url and --token; a stopped daemon is one line and exit 3', { timeout: 300_000 }, async (t) => {
  const dataDir = tempDir(t);
  const daemon = await spawnDaemon(t, daemonEnv(dataDir, null, { STORAGED_TOKENS: TOKENS }));
  const work = tempDir(t, 'storagectl-');
  const file = path.join(work, 'remote.png');
  const bytes = pngBytes(12_345);
  fs.writeFileSync(file, bytes);
  const remote = { STORAGED_URL: daemon.httpUrl!, STORAGED_TOKEN: TOKEN };

  const put = await ctl(['put', file, '--user', 'dave', '--json'], remote);
  assert.equal(put.code, 0, put.err);
  const id = (JSON.parse(put.out) as PutJson).stored[0].id;
  const ls = await ctl(['--url', daemon.httpUrl!, '--token', TOKEN, 'ls', '--user', 'dave', '--json'], {});
  assert.equal(ls.code, 0, ls.err);
  assert.deepEqual((JSON.parse(ls.out) as { photos: Photo[] }).photos.map((p) => p.id), [id]);
  const get = await ctl(['get', id, '-o', '-'], remote);
  assert.deepEqual(get.stdout, bytes);
  const stats = await ctl(['stats'], remote);
  assert.equal(stats.code, 2, 'stats is a socket call');
  assert.match(stats.err, /over the socket/);

  const socket = { STORAGED_SOCKET: daemon.socketPath, STORAGED_CLIENT_ID: 'ops', STORAGED_TOKEN: TOKEN };
  assert.equal(await daemon.stop(), 0);
  for (const [args, env] of [
    [['ls', '--user', 'dave'], socket],
    [['put', file], socket],
    [['stats', '--json'], socket],
    [['get', id, '-o', '-'], remote],
    [['ls', '--user', 'dave'], { ...socket, STORAGED_SOCKET: path.join(work, 'no-such.sock') }],
  ] as const) {
    const r = await ctl([...args], env);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.out, '');
    const lines = r.err.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line, never a stack trace: ${r.err}`);
    assert.match(lines[0], /^storagectl: cannot reach storaged at \S+: (nothing is listening there \(is storaged running\?\)|ECONNREFUSED|connection failed)/);
  }
});
