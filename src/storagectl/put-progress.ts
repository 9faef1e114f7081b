// What `storagectl put` shows while it works. On a terminal: one progress bar
// (files done of total, bytes, rate, ETA) drawn by cli-progress on stderr,
// with failures printed above it. Otherwise: one plain line per file, stored
// ones on stdout and failed ones on stderr, so a log or a pipe gets a record
// it can read. --json prints neither line; its document comes at the end.

import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { formatBytes } from './format';

export interface PutReporter {
  start(files: number, bytes: number): void;
  /** Bytes of some file read and sent. */
  progress(bytes: number): void;
  stored(file: string, line: string): void;
  failed(file: string, reason: string): void;
  stop(): void;
}

export function putReporter(options: { bar: boolean; lines: boolean; out: NodeJS.WritableStream; err: NodeJS.WriteStream }): PutReporter {
  return options.bar ? new BarReporter(options.err) : new LineReporter(options.lines, options.out, options.err);
}

class LineReporter implements PutReporter {
  constructor(
    readonly lines: boolean,
    readonly out: NodeJS.WritableStream,
    readonly err: NodeJS.WritableStream,
  ) {}
  start(): void {}
  progress(): void {}
  stored(file: string, line: string): void {
    if (this.lines) this.out.write(`stored ${file} ${line}\n`);
  }
  failed(file: string, reason: string): void {
    if (this.lines) this.err.write(`failed ${file}: ${reason}\n`);
  }
  stop(): void {}
}

class BarReporter implements PutReporter {
  readonly #multi: MultiBar;
  #bar: SingleBar | null = null;
  #files = 0;
  #filesTotal = 0;
  #bytes = 0;
  #bytesTotal = 0;
  readonly #started = Date.now();

  constructor(stream: NodeJS.WriteStream) {
    this.#multi = new MultiBar(
      {
        stream,
        // Under 80 columns with room to spare: cli-progress cuts a line at the terminal's width.
        format: '{bar} {percentage}% {files}/{filesTotal} files {done}/{size} {rate} ETA {eta_formatted}',
        barsize: 16,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 64,
        fps: 10,
      },
      Presets.shades_classic,
    );
  }

  #payload() {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 0.001);
    return {
      files: this.#files,
      filesTotal: this.#filesTotal,
      done: formatBytes(this.#bytes),
      size: formatBytes(this.#bytesTotal),
      rate: `${formatBytes(this.#bytes / seconds)}/s`,
    };
  }

  start(files: number, bytes: number): void {
    this.#filesTotal = files;
    this.#bytesTotal = bytes;
    // Progress is counted in bytes, so the ETA follows the data, not the file count.
    this.#bar = this.#multi.create(Math.max(bytes, 1), 0, this.#payload());
  }

  progress(bytes: number): void {
    this.#bytes += bytes;
    this.#bar?.update(Math.min(this.#bytes, Math.max(this.#bytesTotal, 1)), this.#payload());
  }

  stored(): void {
    this.#files++;
    this.#bar?.update(this.#payload());
  }

  failed(file: string, reason: string): void {
    this.#files++;
    this.#multi.log(`failed ${file}: ${reason}\n`);
    this.#bar?.update(this.#payload());
  }

  stop(): void {
    this.#bar?.update(this.#payload());
    this.#multi.stop();
  }
}
