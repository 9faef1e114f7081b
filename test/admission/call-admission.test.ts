// The daemon's slots for calls: the limit, waiting and its bounds, and who
// goes next (call-admission.ts). The doors' use of it is tested end to end in
// call-flood.test.ts.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissionRefusal } from '../../src/daemon/admission/admission-refusal';
import { CallAdmission, type AdmissionTicket } from '../../src/daemon/admission/call-admission';

/** A ticket that records what it heard. */
function ticket(name: string, log: string[]): AdmissionTicket & { refusal: AdmissionRefusal | null } {
  const t = {
    refusal: null as AdmissionRefusal | null,
    start: () => log.push(`start ${name}`),
    refuse: (error: AdmissionRefusal) => {
      t.refusal = error;
      log.push(`refuse ${name}`);
    },
  };
  return t;
}

test('calls past maxCalls wait, and start in order as slots free', () => {
  const admission = new CallAdmission({ maxCalls: 4, maxWaiting: 10, waitMs: 60_000 });
  const log: string[] = [];
  for (const client of ['a', 'a', 'b', 'b']) assert.equal(admission.tryEnter(client), true);
  assert.equal(admission.tryEnter('c'), false);
  admission.wait('c', 100, ticket('c1', log));
  assert.equal(admission.tryEnter('c'), false, 'c waits behind its own waiter');
  admission.wait('c', 100, ticket('c2', log));
  assert.deepEqual(admission.stats(), { running: 4, waiting: 2, waitingBytes: 200, refused: 0 });
  admission.release('a');
  assert.deepEqual(log, ['start c1']);
  admission.release('b');
  assert.deepEqual(log, ['start c1', 'start c2']);
  for (const client of ['a', 'b', 'c', 'c']) admission.release(client);
  assert.deepEqual(admission.stats(), { running: 0, waiting: 0, waitingBytes: 0, refused: 0 });
});

test('a freed slot goes to the waiting client with the fewest calls running', () => {
  const admission = new CallAdmission({ maxCalls: 4, maxWaiting: 10, waitMs: 60_000 });
  const log: string[] = [];
  for (let i = 0; i < 3; i++) assert.equal(admission.tryEnter('flood'), true);
  assert.equal(admission.tryEnter('quiet'), true);
  admission.wait('flood', 10, ticket('flood4', log));
  admission.wait('quiet', 10, ticket('quiet2', log));
  // flood, which queued first, now runs 2 and quiet 1: quiet goes first.
  admission.release('flood');
  assert.deepEqual(log, ['start quiet2']);
  admission.release('quiet');
  assert.deepEqual(log, ['start quiet2', 'start flood4']);
});

test('one client never runs more than three quarters of the slots, even when the rest are free', () => {
  const admission = new CallAdmission({ maxCalls: 8, maxWaiting: 10, waitMs: 60_000 });
  for (let i = 0; i < 6; i++) assert.equal(admission.tryEnter('flood'), true);
  assert.equal(admission.tryEnter('flood'), false, 'the seventh would leave others a quarter less');
  assert.equal(admission.tryEnter('other'), true);
  assert.equal(admission.tryEnter('other'), true);
  assert.equal(admission.stats().running, 8);
});

test('a full queue refuses with a retryable UNAVAILABLE that names the settings', () => {
  const admission = new CallAdmission({ maxCalls: 1, maxWaiting: 2, waitMs: 60_000 });
  const log: string[] = [];
  admission.tryEnter('a');
  admission.wait('a', 10, ticket('a1', log));
  admission.wait('a', 10, ticket('a2', log));
  const third = ticket('a3', log);
  admission.wait('a', 10, third);
  assert.deepEqual(log, ['refuse a3']);
  assert.ok(third.refusal instanceof AdmissionRefusal);
  assert.equal(third.refusal.code, 'UNAVAILABLE');
  assert.equal(third.refusal.retryable, true);
  assert.match(third.refusal.message, /STORAGED_MAX_CALLS/);
  assert.match(third.refusal.message, /STORAGED_MAX_WAITING_CALLS/);
  assert.match(third.refusal.message, /retry later/);
  assert.deepEqual(third.refusal.details, { retryAfterSeconds: 1 });
  assert.equal(admission.stats().refused, 1);
});

test('a flood that fills the queue cannot keep a quieter client out of it: its newest waiter makes room', () => {
  const admission = new CallAdmission({ maxCalls: 1, maxWaiting: 3, waitMs: 60_000 });
  const log: string[] = [];
  admission.tryEnter('flood');
  for (let i = 1; i <= 3; i++) admission.wait('flood', 10, ticket(`flood${i}`, log));
  admission.wait('quiet', 10, ticket('quiet1', log));
  assert.deepEqual(log, ['refuse flood3']);
  // quiet now waits once to flood's twice: a second quiet call would not be fairer, so it is refused.
  admission.wait('quiet', 10, ticket('quiet2', log));
  assert.deepEqual(log, ['refuse flood3', 'refuse quiet2']);
  // Both run nothing now, and flood was served last: quiet goes first, then they take turns.
  admission.release('flood');
  assert.deepEqual(log, ['refuse flood3', 'refuse quiet2', 'start quiet1']);
  admission.release('quiet');
  assert.deepEqual(log, ['refuse flood3', 'refuse quiet2', 'start quiet1', 'start flood1']);
});

test('waiting headers are bounded in bytes as well as in number', () => {
  const admission = new CallAdmission({ maxCalls: 1, maxWaiting: 1000, waitMs: 60_000 });
  const log: string[] = [];
  admission.tryEnter('a');
  for (let i = 0; i < 256; i++) admission.wait('a', 64 * 1024, ticket(`a${i}`, log));
  assert.deepEqual(log, [], '256 headers of 64 KiB fit in 16 MiB');
  admission.wait('a', 1, ticket('one-more', log));
  assert.deepEqual(log, ['refuse one-more']);
});

test('a call waits at most waitMs, then is refused', async () => {
  const admission = new CallAdmission({ maxCalls: 1, maxWaiting: 10, waitMs: 30 });
  admission.tryEnter('a');
  // The daemon's sweep timer does not hold the process open; this test's wait must.
  const keepAlive = setTimeout(() => undefined, 10_000);
  const refusal = await new Promise<AdmissionRefusal>((resolve, reject) =>
    admission.wait('a', 10, { start: () => reject(new Error('started without a slot')), refuse: resolve }),
  ).finally(() => clearTimeout(keepAlive));
  assert.match(refusal.message, /no slot within 30 ms/);
  assert.deepEqual(admission.stats(), { running: 1, waiting: 0, waitingBytes: 0, refused: 1 });
});

test('waitMs 0 or maxWaiting 0 means a call past the limit is refused at once', () => {
  for (const limits of [{ maxCalls: 1, maxWaiting: 10, waitMs: 0 }, { maxCalls: 1, maxWaiting: 0, waitMs: 1000 }]) {
    const admission = new CallAdmission(limits);
    const log: string[] = [];
    admission.tryEnter('a');
    admission.wait('a', 10, ticket('a1', log));
    assert.deepEqual(log, ['refuse a1']);
  }
});

test('a withdrawn waiter never starts; the slot goes to the next one', () => {
  const admission = new CallAdmission({ maxCalls: 1, maxWaiting: 10, waitMs: 60_000 });
  const log: string[] = [];
  admission.tryEnter('a');
  const gone = ticket('gone', log);
  admission.wait('b', 10, gone);
  admission.wait('b', 10, ticket('next', log));
  admission.withdraw('b', gone);
  admission.release('a');
  assert.deepEqual(log, ['start next']);
  assert.deepEqual(admission.stats(), { running: 1, waiting: 0, waitingBytes: 0, refused: 0 });
});

test('a release for a client that runs nothing is a bug, said loudly', () => {
  const admission = new CallAdmission({ maxCalls: 1, maxWaiting: 1, waitMs: 1 });
  assert.throws(() => admission.release('nobody'), /runs no call/);
  assert.throws(() => new CallAdmission({ maxCalls: 0, maxWaiting: 1, waitMs: 1 }), RangeError);
  assert.throws(() => new CallAdmission({ maxCalls: 1, maxWaiting: -1, waitMs: 1 }), RangeError);
});
