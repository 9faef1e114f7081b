// What an application gets from `require('storaged')`: the client and its
// types through the package's exports map, and nothing of the daemon's
// insides; benchmark tooling is not among what it installs.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');

function node(script: string) {
  return spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
}

test("require('storaged') gives the client; the daemon's files are not exported", () => {
  const ok = node("const s = require('storaged'); process.exit(typeof s.StorageClient === 'function' && typeof s.NotFoundError === 'function' ? 0 : 1)");
  assert.equal(ok.status, 0, ok.stderr);
  const deep = node("require('storaged/dist/src/daemon/bin.js')");
  assert.notEqual(deep.status, 0);
  assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});

test('tinybench is a development dependency only', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  assert.equal(pkg.dependencies!.tinybench, undefined);
  assert.ok(pkg.devDependencies!.tinybench);
});
