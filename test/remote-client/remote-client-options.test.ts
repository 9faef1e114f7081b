// The constructor refuses what cannot work, with a message that says what was
// expected, and never repeats the token it was given.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteClient } from '../../src/remote-client';

const TOKEN = 'tok-0123456789abcdef';
const URL_OK = 'http://127.0.0.1:1';

test('bad options throw TypeError or RangeError naming what was expected', async (t) => {
  const cases: Array<[string, unknown, ErrorConstructor, RegExp]> = [
    ['no options', undefined, TypeError, /options object/],
    ['url missing', { token: TOKEN }, TypeError, /url must be a string or a URL/],
    ['url not absolute', { url: 'storage:3001/x y', token: TOKEN }, TypeError, /http/],
    ['url relative', { url: '/photos', token: TOKEN }, TypeError, /absolute http\(s\) URL/],
    ['url ftp', { url: 'ftp://host', token: TOKEN }, TypeError, /http or https/],
    ['url with credentials', { url: 'http://u:p@host', token: TOKEN }, TypeError, /user name or password/],
    ['url with query', { url: 'http://host/?a=1', token: TOKEN }, TypeError, /query or fragment/],
    ['token missing', { url: URL_OK }, TypeError, /token must be a string/],
    ['token empty', { url: URL_OK, token: '' }, TypeError, /token must not be empty/],
    ['token with space', { url: URL_OK, token: 'abc def' }, TypeError, /Bearer token/],
    ['token too long', { url: URL_OK, token: 'a'.repeat(5000) }, RangeError, /at most 4096/],
    ['connections zero', { url: URL_OK, token: TOKEN, connections: 0 }, RangeError, /connections must be an integer between 1 and 1024/],
    ['connections fraction', { url: URL_OK, token: TOKEN, connections: 1.5 }, RangeError, /connections/],
    ['call timeout negative', { url: URL_OK, token: TOKEN, callTimeoutMs: -1 }, RangeError, /callTimeoutMs must be a positive number/],
    ['connect timeout NaN', { url: URL_OK, token: TOKEN, connectTimeoutMs: NaN }, RangeError, /connectTimeoutMs/],
    ['clientId malformed', { url: URL_OK, token: TOKEN, clientId: 'a b' }, TypeError, /clientId may contain only/],
  ];
  for (const [name, opts, type, message] of cases) {
    await t.test(name, () => {
      assert.throws(() => new RemoteClient(opts as never), (err: unknown) => {
        assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
        assert.match((err as Error).message, message);
        return true;
      });
    });
  }
});

test('a bad token is refused without echoing it', () => {
  const secret = 'very secret token';
  assert.throws(() => new RemoteClient({ url: URL_OK, token: secret }), (err: unknown) => {
    assert.ok(!(err as Error).message.includes(secret));
    return true;
  });
});

test('a URL with a path prefix keeps it; a trailing slash is dropped', async () => {
  const client = new RemoteClient({ url: 'http://127.0.0.1:1/storage/', token: TOKEN });
  assert.equal(client.url, 'http://127.0.0.1:1/storage');
  assert.equal(client.clientId, null);
  await client.close();
  const bound = new RemoteClient({ url: new URL('https://example.test'), token: TOKEN, clientId: 'acme' });
  assert.equal(bound.url, 'https://example.test');
  assert.equal(bound.clientId, 'acme');
  await bound.close();
});
