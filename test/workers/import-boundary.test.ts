// The S3 wire has one home (src/s3/) that the daemon and the workers share
// (signing, errors, and the raw ranged reads with their connections), and
// neither side reaches into the other: the workers never import the
// daemon, and the daemon imports from src/workers/ only the task contract
// (task types, the failure shape tasks throw), the snapshot task its
// `storaged backup` command runs in-process, and the thread-priority setter
// its search threads share with the pool's. src/s3/ itself depends on
// nothing of storaged but the error vocabulary, and on no package but node's
// own, so it can ship in the client.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(__dirname, '../../../src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of a source file, as a path under src/ without extension. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)].map((m) => path.relative(SRC, path.resolve(path.dirname(file), m[1]!)));
}

test('src/workers never imports src/daemon', () => {
  for (const file of sources(path.join(SRC, 'workers'))) {
    for (const target of imports(file)) assert.ok(!target.startsWith('daemon/'), `${path.relative(SRC, file)} imports ${target}`);
  }
});

test('src/s3 depends only on itself and the protocol errors', () => {
  for (const file of sources(path.join(SRC, 's3'))) {
    for (const target of imports(file)) {
      assert.ok(target.startsWith('s3/') || target === 'protocol/errors', `${path.relative(SRC, file)} imports ${target}`);
    }
  }
});

/** Every package a source file imports (import or export from, require), by name. */
function packages(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*|^import\s+)'([^'.][^']*)'/gm)].map((m) => m[1]!);
}

test('src/s3 imports no package but node\'s own (it ships in the client, without minio, pino or piscina)', () => {
  const files = sources(path.join(SRC, 's3'));
  assert.ok(files.length > 5, 'src/s3 was found');
  for (const file of files) {
    for (const name of packages(file)) assert.ok(name.startsWith('node:'), `${path.relative(SRC, file)} imports ${name}`);
  }
});

test('src/daemon takes from src/workers only the task contract and the snapshot task', () => {
  // thread-priority: the daemon's search threads take their nice value the way the pool's threads do.
  const allowed = new Set(['workers/task-types', 'workers/failures', 'workers/snapshot-database', 'workers/thread-priority']);
  for (const file of sources(path.join(SRC, 'daemon'))) {
    for (const target of imports(file)) {
      if (target.startsWith('workers/')) assert.ok(allowed.has(target), `${path.relative(SRC, file)} imports ${target}`);
    }
  }
});
