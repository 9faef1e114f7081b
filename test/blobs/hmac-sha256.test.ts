import * as assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { HmacSha256 } from '../../src/s3/hmac-sha256';

test('HmacSha256 equals createHmac for keys and messages of every awkward length', () => {
  for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
    const key = randomBytes(keyLength);
    const mac = new HmacSha256(key);
    for (const messageLength of [0, 1, 55, 56, 64, 500, 959, 960, 961, 3000]) {
      const message = randomBytes(messageLength).toString('latin1').replace(/[^\x20-\x7e]/g, 'x');
      assert.equal(mac.hexOfAscii(message), createHmac('sha256', key).update(message, 'latin1').digest('hex'), `key ${keyLength}, message ${messageLength}`);
    }
    // The reusable buffers must not leak one message into the next.
    assert.equal(mac.hexOfAscii('short'), createHmac('sha256', key).update('short').digest('hex'));
  }
});
