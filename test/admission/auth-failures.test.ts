// The count of wrong tokens behind STORAGED_AUTH_FAILURE_RATE and
// STORAGED_SOCKET_AUTH_FAILURE_RATE, with a clock the test turns by hand: a
// key's burst of failures, then one per interval; a right guess refused like
// a wrong one while the allowance is spent; keys bounded however many
// addresses an attacker uses; IPv6 peers counted by their /64.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey, AuthFailures } from '../../src/daemon/admission/auth-failures';
import { parseRequestRate } from '../../src/daemon/admission/request-rate';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let at = 5_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

test('a key may fail its burst, is then refused until one failure has grown back, and only its own attempts count', () => {
  const c = clock();
  const failures = new AuthFailures(parseRequestRate('6/min,burst=3')!, { now: c.now });
  for (let i = 0; i < 3; i++) {
    assert.equal(failures.check('10.0.0.1'), 0, `attempt ${i + 1}`);
    assert.equal(failures.fail('10.0.0.1'), i === 2, 'the failure that spends the allowance says so, once');
  }
  // 6/min: one failure grows back in 10 s.
  assert.equal(failures.check('10.0.0.1'), 10);
  assert.equal(failures.check('10.0.0.2'), 0, 'another address is not touched');
  c.advance(4_000);
  assert.equal(failures.check('10.0.0.1'), 6);
  c.advance(6_000);
  assert.equal(failures.check('10.0.0.1'), 0);
  // One more guess, and the allowance is spent again (not told twice in one spell).
  assert.equal(failures.fail('10.0.0.1'), false);
  assert.equal(failures.check('10.0.0.1'), 10);
  assert.deepEqual(failures.stats(), { failures: 4, refused: 3, keys: 1 });
  // Once the whole burst has grown back, the key is as if it had never failed, and is dropped.
  c.advance(30_000);
  assert.equal(failures.check('10.0.0.1'), 0);
  assert.equal(failures.stats().keys, 0);
  for (let i = 0; i < 2; i++) failures.fail('10.0.0.1');
  assert.equal(failures.fail('10.0.0.1'), true, 'a new spell is told again');
});

test('keys stay bounded however many addresses fail, and the latest to fail are the ones kept', () => {
  const c = clock();
  const failures = new AuthFailures(parseRequestRate('1/h,burst=2')!, { maxKeys: 100, now: c.now });
  failures.fail('10.0.0.1');
  failures.fail('10.0.0.1');
  assert.ok(failures.check('10.0.0.1') > 0);
  for (let i = 0; i < 10_000; i++) {
    failures.fail(`192.0.2.${i}`);
    assert.ok(failures.stats().keys <= 100);
  }
  assert.equal(failures.stats().keys, 100);
  // The sprayed addresses pushed the first one out; the last ones are still counted.
  assert.equal(failures.check('10.0.0.1'), 0);
  failures.fail('192.0.2.9999');
  assert.ok(failures.check('192.0.2.9999') > 0);
  assert.throws(() => new AuthFailures(parseRequestRate('1/s')!, { maxKeys: 0 }), RangeError);
});

test('addresses: IPv4 as it is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
  const cases: Array<[string | undefined, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['2001:db8:1::', '2001:db8:1:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['2001:db8:1:2:3:4:192.0.2.1', '2001:db8:1:2::/64'],
    [undefined, '?'],
  ];
  for (const [address, key] of cases) assert.equal(addressKey(address), key, String(address));
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'), 'another /64 is another key');
});
