import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withRetries } from '../../src/daemon/blobs/transfer-retry';
import { ClosedError, UnavailableError, ValidationError } from '../../src/protocol/errors';

const quick = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

describe('withRetries', () => {
  it('tries a transient failure again until it passes', async () => {
    let calls = 0;
    const retried: number[] = [];
    const value = await withRetries(
      quick,
      undefined,
      async () => {
        if (++calls < 3) throw new UnavailableError('down');
        return 'up';
      },
      (_err, attempt) => retried.push(attempt),
    );
    assert.equal(value, 'up');
    assert.equal(calls, 3);
    assert.deepEqual(retried, [1, 2]);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      withRetries(quick, undefined, async () => {
        throw new UnavailableError(`down ${++calls}`);
      }),
      /down 4/,
    );
    assert.equal(calls, quick.attempts);
  });

  it('does not retry a permanent failure, nor a cancelled one', async () => {
    for (const err of [new ValidationError('bad'), new ClosedError('gone'), new Error('plain')]) {
      let calls = 0;
      await assert.rejects(
        withRetries(quick, undefined, async () => {
          calls++;
          throw err;
        }),
        (e) => e === err,
      );
      assert.equal(calls, 1, err.message);
    }
  });

  it('stops waiting when the stop signal fires during a backoff', async () => {
    const stop = new AbortController();
    let calls = 0;
    const run = withRetries({ attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 }, stop.signal, async () => {
      calls++;
      throw new UnavailableError('down');
    });
    // After the first failure, while the (up to a minute long) backoff runs.
    setImmediate(() => stop.abort());
    await assert.rejects(run, /down/);
    assert.equal(calls, 1);
  });
});
