// Who goes next among the searches waiting for a search thread: the order
// alone, without threads (search-threads.test.ts runs it on a real catalog;
// call-admission.test.ts runs the same queue for calls).

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { TenantQueue, type QueuedItem } from '../../src/daemon/admission/tenant-queue';

class Searches {
  readonly queue = new TenantQueue<QueuedItem>();
  #nextId = 1;

  /** Queues `count` searches of `clientId`, in order. */
  add(clientId: string, count = 1): QueuedItem[] {
    const added: QueuedItem[] = [];
    for (let i = 0; i < count; i++) {
      const search = { id: this.#nextId++, clientId };
      this.queue.push(search);
      added.push(search);
    }
    return added;
  }

  /** The next search, now started on a thread. */
  start(): QueuedItem {
    const search = this.queue.next();
    assert.ok(search !== undefined, 'a search waits');
    this.queue.started(search.clientId);
    return search;
  }
}

const name = (search: QueuedItem | undefined | null) => (search == null ? String(search) : `${search.clientId}${search.id}`);

test('a tenant alone takes every thread, in order of arrival', () => {
  const s = new Searches();
  s.add('a', 3);
  assert.deepEqual([s.start(), s.start(), s.start()].map(name), ['a1', 'a2', 'a3']);
  assert.equal(s.queue.next(), undefined);
  assert.equal(s.queue.size, 0);
});

test('a free thread goes to the tenant with the fewest searches running, not to the oldest search', () => {
  const s = new Searches();
  s.add('a', 4);
  const [a1, a2] = [s.start(), s.start()];
  s.add('b');
  // Two threads, both on a's searches: the first to free goes to b, whose search came last.
  s.queue.finished(a1.clientId);
  assert.equal(name(s.start()), 'b5');
  s.queue.finished(a2.clientId);
  assert.equal(name(s.start()), 'a3');
  assert.equal(s.queue.size, 1);
});

test('between tenants with as many running, the one served longest ago goes next (with one thread, round robin)', () => {
  const s = new Searches();
  s.add('a', 3);
  s.add('b', 2);
  s.add('c', 1);
  const order: string[] = [];
  // One thread: each search ends before the next starts, so every tenant has none running when it frees.
  for (let search = s.queue.next(); search !== undefined; search = s.queue.next()) {
    s.queue.started(search.clientId);
    order.push(name(search));
    s.queue.finished(search.clientId);
  }
  assert.deepEqual(order, ['a1', 'b4', 'c6', 'a2', 'b5', 'a3']);
});

test('between tenants never served, the one whose oldest search is oldest goes first', () => {
  const s = new Searches();
  s.add('b');
  s.add('a');
  assert.equal(name(s.start()), 'b1');
  assert.equal(name(s.start()), 'a2');
});

test('a tenant that comes back is served before one whose older searches wait after it was served', () => {
  const s = new Searches();
  s.add('a', 3);
  s.queue.finished(s.start().clientId);
  s.add('b');
  // Neither runs a search; a's are older, but a was served last.
  assert.equal(name(s.start()), 'b4');
  assert.equal(name(s.start()), 'a2');
});

test('a full queue makes room by giving up the newest search of the tenant with the most waiting, never the newcomer\'s own', () => {
  const s = new Searches();
  s.add('a', 3);
  s.add('b', 1);
  assert.equal(name(s.queue.makeRoom('b')), 'a3');
  assert.equal(s.queue.size, 3);
  // a has 2 waiting, b 1: b's next would make 2, as many as a: no room made.
  assert.equal(s.queue.makeRoom('b'), null);
  assert.equal(s.queue.makeRoom('a'), null, 'a flood does not push out its own');
  assert.equal(name(s.queue.makeRoom('c')), 'a2');
  assert.equal(s.queue.makeRoom('c'), null, 'nobody has more than one waiting');
  assert.deepEqual([...s.queue.waiting()].map(name), ['a1', 'b4']);
});

test('takeAll empties the queue and forgets idle tenants; a running search still finishes', () => {
  const s = new Searches();
  s.add('a', 2);
  s.add('b', 2);
  const a1 = s.start();
  assert.deepEqual(s.queue.takeAll().map(name).sort(), ['a2', 'b3', 'b4']);
  assert.equal(s.queue.size, 0);
  assert.equal(s.queue.next(), undefined);
  s.queue.finished(a1.clientId);
  assert.throws(() => s.queue.finished(a1.clientId), /finished\(\) for client "a" that runs no search/);
});

test('next() passes over tenants whose running count is refused (call admission\'s share per client)', () => {
  const s = new Searches();
  s.add('a', 2);
  s.add('b');
  const a1 = s.start();
  // a runs one, which is its cap: b goes next though a's search is older, and nobody once b runs one too.
  const capped = (running: number) => running < 1;
  assert.equal(name(s.queue.next(capped)), 'b3');
  s.queue.started('b');
  assert.equal(s.queue.next(capped), undefined);
  s.queue.finished(a1.clientId);
  assert.equal(name(s.queue.next(capped)), 'a2');
});

test('remove() takes one waiting item of a tenant off the queue; expire() takes each tenant\'s oldest while they are due', () => {
  const s = new Searches();
  s.add('a', 3);
  s.add('b', 2);
  assert.equal(name(s.queue.remove('a', (item) => item.id === 2)), 'a2');
  assert.equal(s.queue.remove('a', (item) => item.id === 2), null, 'once');
  assert.equal(s.queue.remove('c', () => true), null);
  const gone: string[] = [];
  s.queue.expire((item) => item.id !== 3 && item.id !== 5, (item) => gone.push(name(item)));
  assert.deepEqual(gone, ['a1', 'b4'], 'each stops at its first item not due');
  assert.deepEqual([...s.queue.waiting()].map(name), ['a3', 'b5']);
  assert.equal(s.queue.size, 2);
});
