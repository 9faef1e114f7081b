#!/usr/bin/env node
// Builds packages/storaged-client/dist: the client's sources (src/index.ts and
// what it imports: src/sidecar-client, src/remote-client, src/protocol, and
// the presigner of src/s3) compiled on their own, then checked to hold nothing
// of the daemon and to import no package but the client's three.

'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pkgDir = path.join(root, 'packages', 'storaged-client');
const dist = path.join(pkgDir, 'dist');
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(pkgDir, 'tsconfig.json')], { stdio: 'inherit' });

const allowed = new Set(Object.keys(pkg.dependencies));
const problems = [];
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(dist, full);
    if (entry.isDirectory()) {
      if (['daemon', 'workers'].includes(rel)) problems.push(`${rel}/ is the daemon's`);
      walk(full);
    } else if (entry.name.endsWith('.js')) {
      for (const [, spec] of fs.readFileSync(full, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!allowed.has(name)) problems.push(`${rel} requires ${spec}, which is not a dependency of ${pkg.name}`);
      }
    }
  }
}
walk(dist);
if (problems.length > 0) {
  console.error(`${pkg.name}: the build is not the client alone:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
// The version follows storaged's.
const top = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
if (top.version !== pkg.version) {
  console.error(`${pkg.name} is at ${pkg.version} but storaged at ${top.version}; keep them equal`);
  process.exit(1);
}
