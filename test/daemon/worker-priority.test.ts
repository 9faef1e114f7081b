// The pool's threads, and the SQLite catalog's search threads, run at the
// configured nice value; the main thread, which answers calls, keeps the
// process's (inherited from this test's process).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { test } from 'node:test';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { daemonEnv } from '../support/daemon-env';
import { spawnDaemon } from '../support/daemon-process';
import { tempDir } from '../support/temp-dir';

/** Nice value of each thread of a process, by thread id (field 19 of /proc/PID/task/TID/stat). */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(tid), Number(fields[16]));
  }
  return nices;
}

/**
 * Search threads start when searches need them: two searches at once start
 * two (the second arrives while the first thread is still starting).
 */
async function startSearchThreads(socketPath: string): Promise<void> {
  const client = new StorageClient({ socketPath, clientId: 'nice-test', cacheConfig: { enabled: false } });
  try {
    await Promise.all([client.searchPhotos({ query: 'sunset' }), client.searchPhotos({ query: 'beach' })]);
  } finally {
    await client.close();
  }
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let tries = 0; tries < 100 && !check(); tries++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), what);
}

test('worker threads run at STORAGED_WORKER_NICE while the main thread keeps the process\'s', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const daemon = await spawnDaemon(
    t,
    daemonEnv(tempDir(t), null, { STORAGED_WORKER_THREADS: '2', STORAGED_SEARCH_THREADS: '1', STORAGED_WORKER_NICE: '7' }),
  );
  const pid = daemon.proc.pid!;
  await startSearchThreads(daemon.socketPath);
  const atSeven = () => [...threadNices(pid).values()].filter((n) => n === 7).length;
  await eventually(() => atSeven() === 3, 'both pool threads and the search thread at nice 7');
  assert.equal(threadNices(pid).get(pid), os.getPriority(), 'the main thread is not lowered');
});

test('with the default, the one pool thread and the two search threads run at nice 10', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const daemon = await spawnDaemon(t, daemonEnv(tempDir(t), null, { STORAGED_WORKER_THREADS: '1' }));
  const pid = daemon.proc.pid!;
  await startSearchThreads(daemon.socketPath);
  await eventually(() => [...threadNices(pid).values()].filter((n) => n === 10).length === 3, 'one pool thread and two search threads at nice 10');
  assert.equal(threadNices(pid).get(pid), os.getPriority());
});
