// Runs the compiled storagectl as its own process, as an operator would, and
// collects what it printed and how it exited.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { jpegBytes, pngBytes } from '../support/image-bytes';

export const CTL_BIN = path.resolve(__dirname, '../../src/storagectl/bin.js');

export interface CtlRun {
  code: number | null;
  stdout: Buffer;
  /** stdout as text. */
  out: string;
  err: string;
}

/** `env` replaces the runner's environment (only PATH is kept), so no STORAGED_* setting leaks in. */
export function ctl(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CtlRun> {
  return collected(spawn(process.execPath, [CTL_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** `script` gives the command a pseudo-terminal (stdin, stdout and stderr), as a person's shell would. */
export function ctlOnTerminal(args: string[], env: Record<string, string>): Promise<CtlRun> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, CTL_BIN, ...args].map(quote).join(' ');
  return collected(
    spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', COLUMNS: '100', LINES: '30', TERM: 'xterm', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** The child's exit code and everything it wrote, once it has closed. */
function collected(child: ChildProcessByStdio<null, Readable, Readable>): Promise<CtlRun> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, out: stdout.toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
  });
}

/**
 * A directory of `count` images in `albums` sub-directories: every fifth a
 * JPEG named beach-N.jpg, the rest PNGs named photo-N.png, 2 to 20 KB each.
 * Returns each file's path and bytes.
 */
export function imageTree(root: string, count: number, albums = 5): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const album = path.join(root, `album-${i % albums}`);
    fs.mkdirSync(album, { recursive: true });
    const size = 2000 + ((i * 7919) % 18_000);
    const beach = i % 5 === 0;
    const file = path.join(album, beach ? `beach-${i}.jpg` : `photo-${i}.png`);
    const bytes = beach ? jpegBytes(size) : pngBytes(size);
    fs.writeFileSync(file, bytes);
    files.set(file, bytes);
  }
  return files;
}
