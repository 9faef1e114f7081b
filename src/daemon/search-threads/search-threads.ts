// The SQLite catalog's searches, run off the event loop. A search over a
// large tenant (a one-letter prefix that matches every one of a million
// rows, counted for the true total) takes seconds inside better-sqlite3, and
// on the main thread it would stall every other caller for as long. Here a
// few threads (STORAGED_SEARCH_THREADS) each hold their own read-only
// connection to the file and run one search at a time. Searches wait their
// turn per tenant (admission/tenant-queue.ts), so that one tenant's broad searches do
// not hold another's behind them.
//
// Threads start when searches need them and leave after IDLE_RETIRE_MS
// without one: each holds ~11 MiB of resident memory (a V8 isolate and an
// SQLite connection; 111 against 100 MiB for an idle daemon with two or one,
// 2026-12-04), which a daemon that only stores and serves photos should not
// pay. The first search after a quiet spell waits for a thread's start-up
// (tens of milliseconds), not counted against its time bound.
//
// Each search is bounded in time (STORAGED_SEARCH_TIMEOUT_MS), twice over:
// inside SQLite by the thread's deadline check (db/search-deadline.ts),
// which stops the statement and leaves the thread serving; and here by a
// timer a little longer, for work the check cannot see (a sort after the
// last row is read), which terminates the thread and starts another. A
// terminated thread stops only when its statement returns to JavaScript, so
// until it has exited it counts against the threads: at most as many such
// threads as the configured number run at once, and a replacement waits for
// one of them to go. A thread that dies (out of memory, a bug) fails its
// search with the retryable UNAVAILABLE and is replaced; the daemon goes on.
//
// Hand-written rather than Piscina (which the daemon's other pool uses):
// Piscina's per-task cost here was 46-220 µs against 20 µs for a bare
// message round trip (on searches of 0.2-0.8 ms), and its abort timer starts
// when a task is queued, counting its wait and a new thread's start-up as
// the search's own time; it cannot tell "waited too long" (the daemon is
// busy: retry) from "ran too long" (the query is too broad: narrow it).

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ClosedError, errorFromWire, InternalError, UnavailableError, ValidationError, type StorageError } from '../../protocol/errors';
import { AdmissionRefusal } from '../admission/admission-refusal';
import type { Logger } from '../logger';
import type { RecordPage } from '../db/search-page';
import type { SearchPlan } from '../db/search-query';
import { CLOSE, type SearchTask, type SearchThreadSettings, type ThreadFailure, type ThreadMessage } from './search-thread';
import { TenantQueue } from '../admission/tenant-queue';

const THREAD_FILE = path.resolve(__dirname, 'search-thread.js');

export const DEFAULT_SEARCH_THREADS = 2;
export const DEFAULT_SEARCH_TIMEOUT_MS = 5000;
/** Searches waiting for a thread before more are refused (the daemon passes STORAGED_MAX_CALLS: each holds a call slot). */
export const DEFAULT_MAX_WAITING_SEARCHES = 1024;

/**
 * How much longer than the deadline the main thread waits before it
 * terminates a thread: the check inside SQLite answers within ~1,024 rows,
 * so only a search stuck past the check (sorting) reaches this.
 */
const BACKSTOP_GRACE_MS = 1000;
/** After a thread failed to start (the file cannot be opened), the next try waits this long. */
const RESTART_DELAY_MS = 1000;
/** A thread without a search for this long leaves; the next search starts another. */
export const IDLE_RETIRE_MS = 60_000;

/**
 * A page holds at most 512 KiB of answer, which a thread keeps as text (the
 * main thread parses it: search-page.ts RecordPage): far below this. A
 * thread that needs more is broken and dies alone.
 */
const THREAD_HEAP_MB = 128;
const THREAD_YOUNG_GENERATION_MB = 4;

export interface SearchThreadsOptions {
  /** The catalog's SQLite file. */
  path: string;
  threads?: number;
  timeoutMs?: number;
  maxWaiting?: number;
  /** How long a thread waits idle before it leaves (IDLE_RETIRE_MS by default). */
  idleMs?: number;
  /** Nice value of the threads (0-19); the worker pool's by default. */
  nice?: number;
  logger: Logger;
}

interface Task {
  id: number;
  clientId: string;
  plan: SearchPlan;
  queuedAt: number;
  resolve(page: RecordPage): void;
  reject(err: StorageError): void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  task: Task | null;
  backstop: NodeJS.Timeout | null;
  /** Set while the thread waits for work: it leaves when this fires. */
  idleTimer: NodeJS.Timeout | null;
}

export interface SearchThreadStats {
  /** Searches run on the threads since start. */
  searches: number;
  /** Threads started and not yet retired (they start on demand). */
  threads: number;
  running: number;
  waiting: number;
  /** Searches stopped at their deadline, by the check or the backstop. */
  timedOut: number;
  /** Threads terminated by the backstop or lost to a crash. */
  threadsLost: number;
}

/** The caller's error for a search that ran out of time: the query's own cost, so not worth retrying unchanged. */
export function searchTooLong(timeoutMs: number): ValidationError {
  return new ValidationError(
    `this search ran longer than ${timeoutMs} ms, the daemon's bound on one search (STORAGED_SEARCH_TIMEOUT_MS), and was stopped; ` +
      'narrow it: longer or more words match fewer photos, and a user_id filter without words reads only that user',
    { details: { limit: timeoutMs } },
  );
}

export class SearchThreads {
  readonly #settings: SearchThreadSettings;
  readonly #size: number;
  readonly #timeoutMs: number;
  readonly #maxWaiting: number;
  readonly #idleMs: number;
  readonly #logger: Logger;
  readonly #threads = new Set<Thread>();
  /** Terminated threads still running their last statement. */
  #exiting = 0;
  /** Idle threads sent away, until their 'exit'. */
  readonly #retiring = new Set<Worker>();
  readonly #queue = new TenantQueue<Task>();
  #nextId = 1;
  #closed = false;
  #restartTimer: NodeJS.Timeout | null = null;
  readonly #stats = { searches: 0, timedOut: 0, threadsLost: 0 };

  constructor(options: SearchThreadsOptions) {
    this.#settings = { path: options.path, nice: options.nice ?? 10 };
    this.#size = options.threads ?? DEFAULT_SEARCH_THREADS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
    this.#maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING_SEARCHES;
    this.#idleMs = options.idleMs ?? IDLE_RETIRE_MS;
    this.#logger = options.logger;
  }

  /** Runs one search on a thread; rejects with a StorageError. */
  run(clientId: string, plan: SearchPlan): Promise<RecordPage> {
    if (this.#closed) return Promise.reject(new ClosedError('the catalog is closed'));
    if (this.#queue.size >= this.#maxWaiting) {
      const full = this.#queueFull();
      // The tenant with the most waiting gives up its newest, unless that is this one.
      const pushedOut = this.#queue.makeRoom(clientId);
      if (pushedOut === null) return Promise.reject(full);
      pushedOut.reject(full);
    }
    this.#stats.searches++;
    return new Promise<RecordPage>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, clientId, plan, queuedAt: performance.now(), resolve, reject });
      this.#dispatch();
      this.#refill();
    });
  }

  #queueFull(): AdmissionRefusal {
    return new AdmissionRefusal(
      `storaged has ${this.#queue.size} searches waiting for its ${this.#size} search threads (STORAGED_SEARCH_THREADS); retry shortly`,
      1,
    );
  }

  stats(): SearchThreadStats {
    let running = 0;
    for (const thread of this.#threads) if (thread.task !== null) running++;
    return { threads: this.#threads.size, running, waiting: this.#queue.size, ...this.#stats };
  }

  /** The live threads, for tests that stop one from outside. */
  workers(): Worker[] {
    return [...this.#threads].map((thread) => thread.worker);
  }

  /** Refuses what waits, lets running searches finish (each within its bound), then stops every thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer !== null) clearTimeout(this.#restartTimer);
    for (const task of this.#queue.takeAll()) task.reject(new ClosedError('the catalog is closed'));
    for (const thread of this.#threads) this.#stopIdleTimer(thread);
    await Promise.all(
      [...this.#threads].map(async (thread) => {
        const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
        // Messages are taken in order: a running search answers first.
        thread.worker.postMessage(CLOSE);
        const timer = setTimeout(() => void thread.worker.terminate(), this.#timeoutMs + BACKSTOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  #start(): void {
    const worker = new Worker(THREAD_FILE, {
      workerData: this.#settings,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB, maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
    });
    // An idle thread must not keep the process alive; one with a search does (#dispatch).
    worker.unref();
    const thread: Thread = { worker, ready: false, task: null, backstop: null, idleTimer: null };
    this.#threads.add(thread);
    worker.on('message', (message: ThreadMessage) => this.#onMessage(thread, message));
    worker.on('error', (err) => this.#onError(thread, err));
    worker.on('exit', (code) => this.#onExit(thread, code));
  }

  #dispatch(): void {
    for (const thread of this.#threads) {
      if (!thread.ready || thread.task !== null) continue;
      let task = this.#queue.next();
      for (; task !== undefined; task = this.#queue.next()) {
        const waited = performance.now() - task.queuedAt;
        if (waited <= this.#timeoutMs) break;
        // The daemon is busy, not the query broad: worth retrying.
        task.reject(
          new AdmissionRefusal(
            `this search waited ${Math.round(waited)} ms for one of storaged's ${this.#size} search threads (STORAGED_SEARCH_THREADS); retry shortly`,
            1,
          ),
        );
      }
      if (task === undefined) return;
      this.#stopIdleTimer(thread);
      this.#queue.started(task.clientId);
      thread.task = task;
      thread.worker.ref();
      thread.backstop = setTimeout(() => this.#stopRunaway(thread), this.#timeoutMs + BACKSTOP_GRACE_MS);
      const message: SearchTask = { id: task.id, clientId: task.clientId, plan: task.plan, timeoutMs: this.#timeoutMs };
      thread.worker.postMessage(message);
    }
  }

  #onMessage(thread: Thread, message: ThreadMessage): void {
    if ('ready' in message) {
      thread.ready = true;
      // A thread's start-up (tens of ms, more on a busy host) is not a wait for a busy one.
      const now = performance.now();
      for (const task of this.#queue.waiting()) task.queuedAt = now;
      this.#dispatch();
      this.#idleUnlessBusy(thread);
      return;
    }
    const task = this.#finish(thread);
    if (task === null || task.id !== message.id) return;
    if ('page' in message) task.resolve(message.page);
    else task.reject(this.#failure(task, message.failure));
    this.#dispatch();
    this.#idleUnlessBusy(thread);
  }

  /** A ready thread left without work starts its idle countdown. */
  #idleUnlessBusy(thread: Thread): void {
    if (thread.task !== null || thread.idleTimer !== null || !this.#threads.has(thread)) return;
    thread.idleTimer = setTimeout(() => this.#retire(thread), this.#idleMs);
    thread.idleTimer.unref();
  }

  #stopIdleTimer(thread: Thread): void {
    if (thread.idleTimer !== null) clearTimeout(thread.idleTimer);
    thread.idleTimer = null;
  }

  /** An idle thread leaves quietly: not lost, and not replaced until a search needs it. */
  #retire(thread: Thread): void {
    thread.idleTimer = null;
    if (thread.task !== null || this.#closed) return;
    this.#threads.delete(thread);
    this.#retiring.add(thread.worker);
    thread.worker.postMessage(CLOSE);
  }

  #failure(task: Task, failure: ThreadFailure): StorageError {
    switch (failure.kind) {
      case 'deadline':
        this.#stats.timedOut++;
        this.#logger.warn({ clientId: task.clientId, timeoutMs: this.#timeoutMs }, 'search stopped at its time bound');
        return searchTooLong(this.#timeoutMs);
      case 'storage':
        return errorFromWire(failure.wire);
      case 'internal': {
        const err = new InternalError('internal error');
        this.#logger.error({ err: { message: failure.message, stack: failure.stack }, clientId: task.clientId }, 'search failed');
        return err;
      }
    }
  }

  /** Takes the thread's task off it, clearing its timer; null when it had none. */
  #finish(thread: Thread): Task | null {
    const task = thread.task;
    thread.task = null;
    if (task !== null) this.#queue.finished(task.clientId);
    if (thread.backstop !== null) clearTimeout(thread.backstop);
    thread.backstop = null;
    thread.worker.unref();
    return task;
  }

  /** The search ran past the deadline check and the grace after it: its thread goes, another comes. */
  #stopRunaway(thread: Thread): void {
    const task = this.#finish(thread);
    this.#stats.timedOut++;
    this.#logger.warn(
      { clientId: task?.clientId, timeoutMs: this.#timeoutMs, threadId: thread.worker.threadId },
      'search ran past its time bound and its check; terminating its thread',
    );
    task?.reject(searchTooLong(this.#timeoutMs));
    this.#lose(thread);
    void thread.worker.terminate();
  }

  #onError(thread: Thread, err: Error): void {
    // 'exit' follows; the cause is logged here, once.
    this.#logger.error({ err, threadId: thread.worker.threadId }, 'search thread failed');
  }

  #onExit(thread: Thread, code: number): void {
    this.#stopIdleTimer(thread);
    if (this.#retiring.delete(thread.worker)) {
      // Left idle, as asked; a search that came meanwhile may want its place.
      this.#refill();
      return;
    }
    if (!this.#threads.has(thread)) {
      // A terminated runaway, finally out of its statement: its place is free.
      this.#exiting--;
      this.#refill();
      return;
    }
    const startedOk = thread.ready;
    const task = this.#finish(thread);
    this.#threads.delete(thread);
    if (this.#closed) return;
    this.#stats.threadsLost++;
    this.#logger.error({ code, threadId: thread.worker.threadId }, 'search thread exited; starting another');
    task?.reject(new UnavailableError('the search thread running this search stopped; retry'));
    if (startedOk) {
      this.#refill();
      return;
    }
    // It could not even open the file: try again in a while, and fail what waits rather than leave it hanging.
    for (const waiting of this.#queue.takeAll()) waiting.reject(new UnavailableError('searches cannot run right now (the catalog cannot be opened for reading); retry'));
    this.#restartTimer ??= setTimeout(() => {
      this.#restartTimer = null;
      this.#refill();
    }, RESTART_DELAY_MS).unref();
  }

  /** Marks a thread as leaving: it no longer takes searches, and counts as exiting until its 'exit'. */
  #lose(thread: Thread): void {
    this.#threads.delete(thread);
    this.#exiting++;
    this.#stats.threadsLost++;
    this.#refill();
  }

  /**
   * Starts threads for the searches that wait and find none free, up to the
   * configured number, counting those still exiting against it twice over at most.
   */
  #refill(): void {
    if (this.#closed || this.#restartTimer !== null) return;
    let free = 0;
    for (const thread of this.#threads) if (thread.task === null) free++;
    let wanted = this.#queue.size - free;
    while (wanted > 0 && this.#threads.size < this.#size && this.#threads.size + this.#exiting + this.#retiring.size < 2 * this.#size) {
      this.#start();
      wanted--;
    }
  }
}
