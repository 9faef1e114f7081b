#!/usr/bin/env node
// `storagectl`: the operator's command line for storaged. It is a user of the
// project's StorageClient, over the local socket or the HTTP gateway; the
// daemon's own operations (check, backup, restore, rebuild) are run by the
// daemon's binary from the same package.
//
// Whatever goes wrong ends in one line on stderr, never a stack trace: 2 for
// a usage mistake (with the command's usage line), 3 when the daemon cannot be
// reached, 1 when a call failed.

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { parseCommandLine, USAGE, usageOf, UsageError, type ParsedArgs } from './cli-args';
import { get, ls, rm, search, stat, stats, url, type Io } from './commands';
import { connect, errorLine, isUnreachable, unreachableLine, type Target } from './connection';
import { put } from './put';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_UNREACHABLE = 3;

const RUN: Record<string, (args: ParsedArgs, target: Target, io: Io) => Promise<number>> = { put, get, stat, ls, search, rm, url, stats };

function version(): string {
  // dist/src/storagectl/bin.js → the package's package.json
  return (require(path.join(__dirname, '../../../package.json')) as { version: string }).version;
}

/** The daemon's operations, in this process's environment (they read the daemon's settings from it), with their exit status. */
function runDaemonCommand(name: string, args: string[], socket: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const env = socket === undefined ? process.env : { ...process.env, STORAGED_SOCKET: socket };
    const child = spawn(process.execPath, [path.join(__dirname, '../daemon/bin.js'), name, ...args], { stdio: 'inherit', env });
    child.once('error', (err) => {
      process.stderr.write(`storagectl: cannot run storaged ${name}: ${err.message}\n`);
      resolve(EXIT_FAILED);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal !== null ? 128 : EXIT_FAILED)));
  });
}

export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err.write(`storagectl: ${err.message}\n${usageOf(err.command)}\n`);
    return EXIT_USAGE;
  }
  if (parsed.command === 'help') {
    io.out.write(USAGE);
    return 0;
  }
  if (parsed.command === 'version') {
    io.out.write(`${version()}\n`);
    return 0;
  }
  if (parsed.command === 'daemon') {
    const { name, args, socket } = parsed as { name: string; args: string[]; socket?: string };
    return runDaemonCommand(name, args, socket);
  }
  const args = parsed as ParsedArgs;
  let target: Target;
  try {
    target = connect(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err.write(`storagectl: ${err.message}\n${usageOf(err.command)}\n`);
    return EXIT_USAGE;
  }
  try {
    return await RUN[args.command](args, target, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`storagectl: ${err.message}\n${usageOf(err.command)}\n`);
      return EXIT_USAGE;
    }
    if (isUnreachable(err)) {
      io.err.write(`storagectl: ${unreachableLine(target.where, err)}\n`);
      return EXIT_UNREACHABLE;
    }
    const hint = (err as { code?: unknown }).code === 'UNAUTHORIZED' ? ' (storagectl: --client ID with --token-file F or --token T, or STORAGED_CLIENT_ID and STORAGED_TOKEN)' : '';
    io.err.write(`storagectl: ${errorLine(err)}${hint}\n`);
    return EXIT_FAILED;
  } finally {
    await target.client.close().catch(() => {});
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      // Not a StorageError or a usage mistake: still one line (STORAGECTL_DEBUG=1 for the stack).
      process.stderr.write(`storagectl: ${process.env.STORAGECTL_DEBUG === '1' && err instanceof Error ? err.stack : errorLine(err)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}
