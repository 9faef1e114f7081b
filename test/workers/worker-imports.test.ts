import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { WORKER_TASKS_FILE } from '../../src/daemon/workers/worker-pool';
import { freePort } from '../support/free-port';

// Loading minio-js cost every worker thread ~17 MiB of resident memory (and
// undici as much); the workers' S3 client is node:http and our own code.
test('the worker tasks load neither minio nor undici, even once they have transferred', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-imports-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'part');
  fs.writeFileSync(file, 'ten bytes!');
  // Nothing listens there: each transfer fails, after its client was made.
  const settings = { endPoint: '127.0.0.1', port: await freePort(), useSSL: false, accessKey: 'a', secretKey: 's', region: 'us-east-1', idleTimeoutMs: 1000 };
  const script = `
    const tasks = require(${JSON.stringify(WORKER_TASKS_FILE)});
    const settings = ${JSON.stringify(settings)};
    const failed = [];
    const note = (err) => failed.push(err.kind);
    tasks.downloadPart({ settings, bucket: 'b', key: 'k', start: 0, end: 9, into: new Uint8Array(10) }).catch(note)
      .then(() => tasks.uploadPart({ settings, bucket: 'b', key: 'k', uploadId: 'u', partNumber: 1, path: ${JSON.stringify(file)}, start: 0, end: 9 }).catch(note))
      .then(() => process.stdout.write(JSON.stringify({ failed, loaded: Object.keys(require.cache) })));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { encoding: 'utf8' });
  const { failed, loaded } = JSON.parse(stdout) as { failed: string[]; loaded: string[] };
  assert.deepEqual(failed, ['transient', 'transient'], 'both transfers tried to connect');
  const packages = loaded.filter((f) => /[\\/]node_modules[\\/](minio|undici|fast-xml-parser)[\\/]/.test(f));
  assert.deepEqual(packages, []);
});
