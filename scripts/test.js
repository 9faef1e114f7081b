#!/usr/bin/env node
// Runs every compiled test file with node's test runner. MinIO is found (or
// built, once, into a cache outside the checkout) before any test starts, so
// no single test waits minutes for a build.

'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const testRoot = path.join(root, 'dist', 'test');

function findTests(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.name.endsWith('.test.js')) found.push(full);
  }
  return found.sort();
}

const filters = process.argv.slice(2);
const files = findTests(testRoot).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const minioBin = execFileSync(process.execPath, [path.join(testRoot, 'support', 'minio-binary.js')], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
  .toString()
  .trim();

const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, MINIO_BIN: minioBin },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
