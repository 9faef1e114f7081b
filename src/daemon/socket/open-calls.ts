// The calls of one connection not answered yet: opening each one (answered
// at once, or dispatched to the coordinator), sending a download's answer, and
// delivering exactly one answer per call. The connection (connection.ts) owns
// the socket's lifecycle and hands each call and body frame here.

import { IdTable } from '../../protocol/id-table';
import { CallAbort } from './call-abort';
import {
  ClosedError,
  ProtocolError,
  StorageError,
  TooLargeError,
  TooManyInFlightError,
  UnavailableError,
  toStorageError,
} from '../../protocol/errors';
import { MAX_HEADER_BYTES, MAX_IN_FLIGHT_PER_CONNECTION } from '../../protocol/limits';
import type { CallMessage, EndMessage, ErrorMessage, ResultMessage } from '../../protocol/messages';
import type { CallContext, PhotoContent } from '../coordinator/coordinator';
import type { Logger } from '../logger';
import type { AnswerWriter } from './answer-writer';
import { dispatchCall, madeAnswer, NOT_MADE, streamsAnswer, takesBody } from './call-dispatch';
import type { ConnectionOptions } from './connection';
import { DownloadSender } from './download-sender';
import { UploadBody } from './upload-body';
import type { AdmissionTicket } from '../admission/call-admission';

export interface ActiveCall {
  id: number;
  op: CallMessage['op'];
  controller: CallAbort;
  body: UploadBody | null;
  download: DownloadSender | null;
  /** Set while the call waits for a slot (call-admission.ts); it has not reached the coordinator. */
  waiting: AdmissionTicket | null;
}

export class OpenCalls {
  readonly #opts: ConnectionOptions;
  readonly #out: AnswerWriter;
  /** Called after each answer: a draining connection ends once the last call is answered. */
  readonly #answered: () => void;
  #logger: Logger;
  #clientId = '';
  #admin = false;
  /** The context of calls answered at once: nothing is left running to abort. */
  #atOnceCtx: CallContext | null = null;
  /** Calls not answered yet, by id. An answered call leaves at once, even if the coordinator still cleans up. */
  readonly #calls = new IdTable<ActiveCall>();
  /** Coordinator work not settled yet; shutdown waits for it. A count, not a Set of promises: see id-table.ts. */
  #running = 0;
  #settledWaiters: Array<() => void> = [];
  /** No new calls: the peer half-closed or the server is shutting down. */
  draining = false;

  constructor(opts: ConnectionOptions, out: AnswerWriter, answered: () => void) {
    this.#opts = opts;
    this.#out = out;
    this.#answered = answered;
    this.#logger = opts.logger;
  }

  get size(): number {
    return this.#calls.size;
  }

  get(id: number): ActiveCall | undefined {
    return this.#calls.get(id);
  }

  values(): ActiveCall[] {
    return this.#calls.values();
  }

  /** The hello named the client: every later call runs on its behalf. */
  greet(clientId: string, admin: boolean, logger: Logger): void {
    this.#clientId = clientId;
    this.#admin = admin;
    this.#atOnceCtx = {
      clientId,
      admin,
      get signal() {
        return new AbortController().signal;
      },
    };
    this.#logger = logger;
  }

  /** Resolves when the coordinator has settled every call this connection started. */
  async settled(): Promise<void> {
    if (this.#running === 0) return;
    await new Promise<void>((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Opens a call: answers it at once when it can, else dispatches it to the coordinator. */
  open(message: CallMessage, bytes: number): void {
    const { id, op } = message;
    // Two live calls with one id would make every later answer ambiguous: nothing sane is left to do.
    if (this.#calls.has(id)) throw new ProtocolError(`call id ${id} is already in flight`);
    this.#opts.counters.callsTotal += 1;
    if (this.draining) {
      this.sendError(id, new UnavailableError('storaged is shutting down; retry on a new connection'));
      return;
    }
    if (bytes > MAX_HEADER_BYTES) {
      this.sendError(id, new TooLargeError(`call header of ${bytes} bytes exceeds ${MAX_HEADER_BYTES} bytes`));
      return;
    }
    if (this.#calls.size >= MAX_IN_FLIGHT_PER_CONNECTION) {
      this.sendError(
        id,
        new TooManyInFlightError(`more than ${MAX_IN_FLIGHT_PER_CONNECTION} calls in flight on one connection`),
      );
      return;
    }
    let made: unknown;
    try {
      made = madeAnswer(this.#opts.coordinator, this.#atOnceCtx!, op, message.args);
    } catch (err) {
      this.#deliverTo(op, this.#errorAnswer(op, id, err));
      return;
    }
    if (made !== NOT_MADE) {
      this.#deliverTo(op, { t: 'result', id, value: made });
      return;
    }
    const call: ActiveCall = {
      id,
      op,
      controller: new CallAbort(),
      body: null,
      download: streamsAnswer(op) ? new DownloadSender() : null,
      waiting: null,
    };
    this.#calls.set(id, call);
    const admission = this.#opts.admission;
    if (admission.tryEnter(this.#clientId)) {
      this.#run(call, message.args);
      return;
    }
    // Past the daemon's limit of calls: the call waits, its body (if any) unasked for until it runs.
    const ticket: AdmissionTicket = {
      start: () => {
        call.waiting = null;
        if (this.#calls.get(id) === call) this.#run(call, message.args);
        else admission.release(this.#clientId);
      },
      refuse: (error) => {
        call.waiting = null;
        this.answerError(call, error);
      },
    };
    call.waiting = ticket;
    admission.wait(this.#clientId, bytes, ticket);
  }

  /**
   * Takes a waiting call out of the queue, answered with `reason`; false when
   * the call is not waiting (it runs, and learns through its signal).
   */
  withdraw(call: ActiveCall, reason: StorageError): boolean {
    if (call.waiting === null) return false;
    this.#opts.admission.withdraw(this.#clientId, call.waiting);
    call.waiting = null;
    this.answerError(call, reason);
    return true;
  }

  /** Runs a call that holds one of the daemon's slots, and gives the slot back once the coordinator is done. */
  #run(call: ActiveCall, args: Record<string, unknown>): void {
    const { id, op } = call;
    if (takesBody(op)) {
      // Credit goes out once the coordinator reads the body, after its memory is granted (upload-body.ts).
      call.body = new UploadBody(this.#opts.maxBodyBytes, (chunks) => {
        if (this.#calls.get(id) === call) this.#out.send({ t: 'credit', id, chunks });
      });
    }
    const counters = this.#opts.counters;
    counters.callsInFlight += 1;
    const abort = call.controller;
    const ctx = {
      clientId: this.#clientId,
      admin: this.#admin,
      get signal() {
        return abort.signal;
      },
    };
    this.#running += 1;
    void dispatchCall(this.#opts.coordinator, ctx, op, args, call.body)
      .then(
        (value) =>
          call.download === null ? this.#answer(call, { t: 'result', id, value }) : this.#stream(call, value as PhotoContent),
        (err) => this.answerError(call, err),
      )
      .catch((err) => this.#logger.error({ err, op }, 'answering a call failed'))
      .finally(() => {
        counters.callsInFlight -= 1;
        this.#opts.admission.release(this.#clientId);
        this.#running -= 1;
        if (this.#running === 0) for (const resolve of this.#settledWaiters.splice(0)) resolve();
        // The coordinator is done with the body; chunks still on their way are dropped.
        call.body?.fail(new ClosedError('the call has already been answered'));
      });
  }

  /** Answers a download: its head, then chunks as the client grants credit, then its end. */
  async #stream(call: ActiveCall, content: PhotoContent): Promise<void> {
    if (this.#calls.get(call.id) !== call) {
      content.body.destroy();
      return;
    }
    this.#out.send({ t: 'stream', id: call.id, value: content.info });
    try {
      await call.download!.send(content.body, (data, written) => this.#out.writeChunk(call.id, data, written));
    } catch (err) {
      this.answerError(call, err);
      return;
    }
    this.#answer(call, { t: 'end', id: call.id });
  }

  answerError(call: ActiveCall, err: unknown): void {
    if (this.#calls.get(call.id) !== call) return;
    this.#answer(call, this.#errorAnswer(call.op, call.id, err));
  }

  #errorAnswer(op: CallMessage['op'], id: number, err: unknown): ErrorMessage {
    const error = toStorageError(err);
    if (error.code === 'INTERNAL') {
      this.#logger.error({ err: error.cause ?? error, op, callId: id }, 'call failed with an internal error');
    } else {
      this.#logger.debug({ op, code: error.code, message: error.message }, 'call failed');
    }
    return { t: 'error', id, error: error.toWire() };
  }

  #answer(call: ActiveCall, message: ResultMessage | ErrorMessage | EndMessage): void {
    if (this.#calls.get(call.id) !== call) return;
    this.#calls.delete(call.id);
    this.#deliverTo(call.op, message);
    this.#answered();
  }

  #deliverTo(op: CallMessage['op'], message: ResultMessage | ErrorMessage | EndMessage): void {
    this.#out.deliver(message, this.#logger, op);
  }

  sendError(id: number, error: StorageError): void {
    this.#out.send({ t: 'error', id, error: error.toWire() });
  }

  /** The coordinator learns through the body and the signal; its answers will have nowhere to go. */
  failAll(reason: ClosedError): void {
    for (const call of this.#calls.values()) {
      if (call.waiting !== null) {
        this.#opts.admission.withdraw(this.#clientId, call.waiting);
        call.waiting = null;
      }
      call.body?.fail(reason);
      call.download?.stop(reason);
      call.controller.abort(reason);
    }
    this.#calls.clear();
  }
}
