import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { newCancelFlag, raiseCancelFlag } from '../../src/daemon/workers/cancel-flag';
import { asTaskFailure } from '../../src/workers/failures';
import { getObjectRange } from '../../src/s3/get-object-range';
import { endpointFor, S3Endpoint } from '../../src/s3/s3-endpoint';
import type { TaskFailureKind } from '../../src/workers/task-types';
import { errorAnswer, partialAnswer, scriptedServer, TEST_CA, type ScriptedRequest } from './scripted-http-server';
import { until } from './transfer-fixture';

const OBJECT = randomBytes(64 * 1024);
const SIZE = OBJECT.length;

/** Answers "Range: bytes=a-b" with those bytes of OBJECT. */
function serveObject(req: ScriptedRequest, extraHeaders = ''): void {
  const [, a, b] = /range: bytes=(\d+)-(\d+)/i.exec(req.head)!;
  const start = Number(a);
  req.socket.write(partialAnswer(OBJECT.subarray(start, Math.min(SIZE, Number(b) + 1)), start, SIZE, extraHeaders));
}

/** A 206 of those bytes in chunked coding, two chunks and a trailer, as a proxy re-sends MinIO's answer. */
function chunkedAnswer(bytes: Buffer, start: number, announced = bytes.length): Buffer {
  const half = Math.floor(bytes.length / 2);
  const chunks = [bytes.subarray(0, half), bytes.subarray(half)].filter((piece) => piece.length > 0);
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${start + announced - 1}/${SIZE}\r\nTransfer-Encoding: chunked\r\n\r\n`),
    ...chunks.map((piece) => Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])),
    Buffer.from('0\r\nX-Amz-Trailer: none\r\n\r\n'),
  ]);
}

/** Answers "Range: bytes=a-b" with those bytes of OBJECT, chunked. */
function serveChunked(req: ScriptedRequest): void {
  const [, a, b] = /range: bytes=(\d+)-(\d+)/i.exec(req.head)!;
  const start = Number(a);
  req.socket.write(chunkedAnswer(OBJECT.subarray(start, Math.min(SIZE, Number(b) + 1)), start));
}

function endpoint(t: { after(fn: () => unknown): void }, port: number, options: { tls?: boolean; idleTimeoutMs?: number } = {}): S3Endpoint {
  const settings = { endPoint: '127.0.0.1', port, useSSL: options.tls === true, accessKey: 'ak', secretKey: 'sk', region: 'us-east-1', idleTimeoutMs: options.idleTimeoutMs ?? 30_000 };
  const ep = new S3Endpoint(settings, { ca: TEST_CA });
  t.after(() => ep.close());
  return ep;
}

async function read(ep: S3Endpoint, start: number, end: number, cancel?: Int32Array): Promise<Buffer> {
  const into = Buffer.alloc(end - start + 1);
  const got = await getObjectRange(ep, { bucket: 'b', key: 'k', start, end, cancel }, into);
  assert.equal(got.objectSize, SIZE);
  return into.subarray(0, got.length);
}

/** The kind a worker task would report for what `promise` rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<{ kind: TaskFailureKind; message: string; code?: string }> {
  try {
    await promise;
  } catch (err) {
    return asTaskFailure(err, 'read');
  }
  assert.fail('the read succeeded');
}

for (const tls of [false, true]) {
  describe(`ranged reads over ${tls ? 'TLS (node:https)' : 'plain HTTP (raw connections)'}, against a scripted server`, () => {
    it('reads exact bytes, the last part shorter than asked, with a signed GET of the range', async (t) => {
      const server = await scriptedServer(t, (req) => serveObject(req), { tls });
      const ep = endpoint(t, server.port, { tls });
      assert.deepEqual(await read(ep, 0, 999), OBJECT.subarray(0, 1000));
      assert.deepEqual(await read(ep, SIZE - 10, SIZE + 5000), OBJECT.subarray(SIZE - 10));
      const first = server.requests[0]!;
      assert.match(first, /^GET \/b\/k HTTP\/1\.1\r\n/);
      assert.match(first, /\r\nrange: bytes=0-999\r\n/i);
      assert.match(first, /\r\nx-amz-date: \d{8}T\d{6}Z\r\n/i);
      assert.match(first, /\r\nauthorization: AWS4-HMAC-SHA256 Credential=ak\/\d{8}\/us-east-1\/s3\/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=[0-9a-f]{64}/i);
    });

    it('keeps the connection for the next read, and opens a new one after Connection: close', async (t) => {
      const server = await scriptedServer(t, (req) => serveObject(req, req.connection === 1 && req.index === 2 ? 'Connection: close\r\n' : ''), { tls });
      const ep = endpoint(t, server.port, { tls });
      for (let i = 0; i < 3; i++) assert.deepEqual(await read(ep, i * 100, i * 100 + 99), OBJECT.subarray(i * 100, i * 100 + 100));
      assert.equal(server.requests.length, 3);
      // Requests 1 and 2 shared a connection; the second said close, so the third needed a new one.
      assert.equal(server.connections, 2);
    });

    it('an S3 error answer keeps its code and classifies as before: NoSuchKey → not-found, InvalidRange → range, 503 → transient', async (t) => {
      const answers = [
        errorAnswer(404, 'NoSuchKey', 'The specified key does not exist.'),
        errorAnswer(416, 'InvalidRange', 'The requested range is not satisfiable'),
        errorAnswer(503, 'SlowDown', 'Please reduce your request rate.'),
        errorAnswer(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match &amp; so on'),
        'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n',
        'HTTP/1.1 499 Client Closed Request\r\nContent-Length: 0\r\n\r\n',
        'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
      ];
      const server = await scriptedServer(t, (req) => req.socket.write(answers[server.requests.length - 1]!), { tls });
      const ep = endpoint(t, server.port, { tls });
      const expected: Array<[TaskFailureKind, string]> = [
        ['not-found', 'NoSuchKey'],
        ['range', 'InvalidRange'],
        ['transient', 'SlowDown'],
        ['failed', 'SignatureDoesNotMatch'],
        ['transient', 'HTTP_500'],
        ['transient', 'HTTP_499'],
        ['not-found', 'NotFound'],
      ];
      for (const [kind, code] of expected) {
        const failure = await failureOf(read(ep, 0, 9));
        assert.equal(failure.kind, kind, code);
        assert.equal(failure.code, code);
      }
      // Every answer had a length: the connection stayed usable through all of them.
      assert.equal(server.connections, 1);
    });

    it('an error answer says what MinIO said, entities decoded', async (t) => {
      const server = await scriptedServer(t, (req) => req.socket.write(errorAnswer(403, 'AccessDenied', 'Access Denied &lt;for &quot;b&quot;&gt;')), { tls });
      const failure = await failureOf(read(endpoint(t, server.port, { tls }), 0, 9));
      assert.equal(failure.message, 'read: MinIO answered 403 AccessDenied: Access Denied <for "b">');
    });

    it('a connection reset in the middle of the body is transient', async (t) => {
      const server = await scriptedServer(t, (req) => {
        const whole = partialAnswer(OBJECT.subarray(0, 4096), 0, SIZE);
        req.socket.write(whole.subarray(0, whole.length - 1000), () => req.reset());
      }, { tls });
      const failure = await failureOf(read(endpoint(t, server.port, { tls }), 0, 4095));
      assert.equal(failure.kind, 'transient');
    });

    it('a connection closed before the body is whole is transient, and says how far it got', async (t) => {
      const server = await scriptedServer(t, (req) => {
        const whole = partialAnswer(OBJECT.subarray(0, 4096), 0, SIZE);
        req.socket.end(whole.subarray(0, whole.length - 1000));
      }, { tls });
      const failure = await failureOf(read(endpoint(t, server.port, { tls }), 0, 4095));
      assert.equal(failure.kind, 'transient');
      assert.match(failure.message, /3096 of 4096/);
    });

    it('a server that stops sending fails the read after the idle timeout (ETIMEDOUT, transient)', async (t) => {
      const server = await scriptedServer(t, (req) => req.socket.write(partialAnswer(OBJECT.subarray(0, 4096), 0, SIZE).subarray(0, 500)), { tls });
      const failure = await failureOf(read(endpoint(t, server.port, { tls, idleTimeoutMs: 100 }), 0, 4095));
      assert.equal(failure.kind, 'transient');
      assert.equal(failure.code, 'ETIMEDOUT');
    });

    it('a raised cancel flag stops the read at its next bytes, as cancelled', async (t) => {
      const cancel = newCancelFlag();
      const server = await scriptedServer(t, (req) => {
        const whole = partialAnswer(OBJECT.subarray(0, 8192), 0, SIZE);
        req.socket.write(whole.subarray(0, 1000), () => {
          raiseCancelFlag(cancel);
          req.socket.write(whole.subarray(1000));
        });
      }, { tls });
      const failure = await failureOf(read(endpoint(t, server.port, { tls }), 0, 8191, cancel));
      assert.equal(failure.kind, 'cancelled');
    });

    it('reads chunked answers, and chunked error answers keep their code', async (t) => {
      const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>';
      const server = await scriptedServer(t, (req) => {
        if (req.index === 2) req.socket.write(`HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(xml).toString(16)}\r\n${xml}\r\n0\r\n\r\n`);
        else serveChunked(req);
      }, { tls });
      const ep = endpoint(t, server.port, { tls });
      assert.deepEqual(await read(ep, 1000, 9999), OBJECT.subarray(1000, 10_000));
      const failure = await failureOf(read(ep, 0, 9));
      assert.equal(failure.kind, 'not-found');
      assert.equal(failure.code, 'NoSuchKey');
      assert.deepEqual(await read(ep, 0, 9), OBJECT.subarray(0, 10));
      assert.equal(server.connections, 1, 'chunked answers leave the connection usable');
    });

    it('a connection closed in the middle of a chunked body is transient', async (t) => {
      const server = await scriptedServer(t, (req) => {
        const whole = chunkedAnswer(OBJECT.subarray(0, 4096), 0);
        req.socket.end(whole.subarray(0, whole.length - 1000));
      }, { tls });
      const failure = await failureOf(read(endpoint(t, server.port, { tls }), 0, 4095));
      assert.equal(failure.kind, 'transient');
      assert.match(failure.message, /MinIO closed the connection after \d+ (of 4096 body bytes|bytes of a chunked body)/);
    });

    it('refuses a chunked answer shorter or longer than its Content-Range', async (t) => {
      const wrong = [chunkedAnswer(OBJECT.subarray(0, 8), 0, 10), chunkedAnswer(OBJECT.subarray(0, 12), 0, 10)];
      const server = await scriptedServer(t, (req) => req.socket.write(wrong[server.requests.length - 1]!), { tls });
      const ep = endpoint(t, server.port, { tls });
      const longer = tls ? /MinIO sent more than the 10 bytes it announced/ : /a chunked body longer than the 10 bytes expected/;
      for (const message of [/MinIO's answer ended after 8 of the 10 bytes its Content-Range announced/, longer]) {
        const failure = await failureOf(read(ep, 0, 9));
        assert.equal(failure.kind, 'failed');
        assert.match(failure.message, message);
      }
    });

    it('refuses an answer for other bytes than asked, or more than asked', async (t) => {
      const wrong = [
        partialAnswer(OBJECT.subarray(10, 20), 10, SIZE),
        partialAnswer(OBJECT.subarray(0, 20), 0, SIZE),
        'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\n0123456789',
        `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789`,
      ];
      const server = await scriptedServer(t, (req) => req.socket.write(wrong[server.requests.length - 1]!), { tls });
      const ep = endpoint(t, server.port, { tls });
      for (const message of [/bytes 10-19\/65536 in 10 bytes to a range from 0/, /more bytes \(20\) than the range holds \(10\)/, /without a usable Content-Range/, /200 HTTP_200/]) {
        const failure = await failureOf(read(ep, 0, 9));
        assert.equal(failure.kind, 'failed');
        assert.match(failure.message, message);
      }
    });
  });
}

describe('raw connections (plain HTTP reads)', () => {
  it('reads a body that arrives in pieces after its head straight into place, and the connection carries the next answer', async (t) => {
    const server = await scriptedServer(t, (req) => {
      const [, a, b] = /range: bytes=(\d+)-(\d+)/i.exec(req.head)!;
      const answer = partialAnswer(OBJECT.subarray(Number(a), Number(b) + 1), Number(a), SIZE);
      const headEnd = answer.indexOf('\r\n\r\n') + 4;
      // The head with a few body bytes, then the rest in three writes that arrive apart.
      const cuts = [headEnd + 7, headEnd + 5000, headEnd + 30_000, answer.length];
      let at = 0;
      const next = () => {
        const to = cuts.shift();
        if (to === undefined) return;
        req.socket.write(answer.subarray(at, to));
        at = to;
        setTimeout(next, 5);
      };
      next();
    });
    const ep = endpoint(t, server.port);
    assert.deepEqual(await read(ep, 0, SIZE - 1), OBJECT);
    assert.deepEqual(await read(ep, 1000, 40_999), OBJECT.subarray(1000, 41_000));
    assert.equal(server.connections, 1, 'both answers on one kept connection');
  });

  it('keeps as many idle connections as it was given (a worker 16, the main thread more)', async (t) => {
    const server = await scriptedServer(t, (req) => serveObject(req));
    const settings = { endPoint: '127.0.0.1', port: server.port, useSSL: false, accessKey: 'ak', secretKey: 'sk', region: 'us-east-1', idleTimeoutMs: 30_000 };
    const many = new S3Endpoint(settings, {}, 24);
    const few = new S3Endpoint(settings);
    t.after(() => {
      many.close();
      few.close();
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => read(many, i, i + 99)));
    await Promise.all(Array.from({ length: 20 }, (_, i) => read(few, i, i + 99)));
    assert.equal(many.connections!.idleCount, 20);
    assert.equal(few.connections!.idleCount, 16);
  });

  it('reads chunked answers (a proxy in front of the store) on its raw connections, and keeps them', async (t) => {
    const server = await scriptedServer(t, (req) => serveChunked(req));
    const ep = endpoint(t, server.port);
    assert.deepEqual(await read(ep, 0, 4095), OBJECT.subarray(0, 4096));
    assert.deepEqual(await read(ep, 100, 20_099), OBJECT.subarray(100, 20_100));
    assert.deepEqual(await read(ep, SIZE - 10, SIZE + 5000), OBJECT.subarray(SIZE - 10));
    assert.equal(ep.connections!.idleCount, 1, 'the raw connections are still used');
    assert.equal(server.connections, 1);
    assert.equal(server.requests.length, 3);
  });

  it('reads an answer that ends with the connection (no length, not chunked) through node:http, and every later read too', async (t) => {
    const server = await scriptedServer(t, (req) => {
      const [, a, b] = /range: bytes=(\d+)-(\d+)/i.exec(req.head)!;
      req.socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/${SIZE}\r\nConnection: close\r\n\r\n`), OBJECT.subarray(Number(a), Number(b) + 1)]));
    });
    const ep = endpoint(t, server.port);
    assert.deepEqual(await read(ep, 0, 4095), OBJECT.subarray(0, 4096));
    assert.equal(ep.connections, null, 'the raw connections are given up for this endpoint');
    assert.deepEqual(await read(ep, 100, 20_099), OBJECT.subarray(100, 20_100));
    assert.equal(server.requests.length, 3, 'one raw attempt, then node:http for this read and the next');
  });

  it('a thread keeps one endpoint per settings, the addressing style among them', (t) => {
    const settings = { endPoint: '127.0.0.1', port: 9, useSSL: false, accessKey: 'ak', secretKey: 'sk', region: 'us-east-1', idleTimeoutMs: 1000 };
    const pathStyle = endpointFor(settings);
    const virtual = endpointFor({ ...settings, pathStyle: false });
    t.after(() => [pathStyle, virtual].forEach((ep) => ep.close()));
    assert.equal(endpointFor({ ...settings, pathStyle: true }), pathStyle);
    assert.deepEqual(pathStyle.address('b', 'k'), { host: '127.0.0.1:9', path: '/b/k' });
    assert.deepEqual(virtual.address('b', 'k'), { host: 'b.127.0.0.1:9', path: '/k' });
  });

  it('refuses a header block over its bound', async (t) => {
    const server = await scriptedServer(t, (req) => req.socket.write(`HTTP/1.1 206 Partial Content\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`));
    const failure = await failureOf(read(endpoint(t, server.port), 0, 4));
    assert.equal(failure.kind, 'failed');
    assert.match(failure.message, /header block is over 16384 bytes/);
  });

  it('drops an idle connection on which the server sends what nobody asked for', async (t) => {
    let first: ScriptedRequest | null = null;
    const server = await scriptedServer(t, (req) => {
      first ??= req;
      serveObject(req);
    });
    const ep = endpoint(t, server.port);
    await read(ep, 0, 9);
    assert.equal(ep.connections!.idleCount, 1);
    first!.socket.write('HTTP/1.1 200 OK\r\n');
    await until(() => ep.connections!.idleCount === 0, 'the talkative connection to be dropped');
    assert.deepEqual(await read(ep, 10, 19), OBJECT.subarray(10, 20));
    assert.equal(server.connections, 2);
  });

  it('retries once on a new connection when a kept one dies before answering (the server closed it as it was reused)', async (t) => {
    const server = await scriptedServer(t, (req) => {
      if (req.connection === 1 && req.index === 2) req.socket.destroy();
      else serveObject(req);
    });
    const ep = endpoint(t, server.port);
    await read(ep, 0, 9);
    assert.deepEqual(await read(ep, 10, 19), OBJECT.subarray(10, 20));
    assert.equal(server.connections, 2);
    assert.equal(server.requests.length, 3);
  });

  it('does not retry a new connection that dies, nor more than once', async (t) => {
    const server = await scriptedServer(t, (req) => {
      if (req.connection === 1 && req.index === 1) serveObject(req);
      else req.socket.destroy();
    });
    const ep = endpoint(t, server.port);
    await read(ep, 0, 9);
    const failure = await failureOf(read(ep, 10, 19));
    assert.equal(failure.kind, 'transient');
    assert.match(failure.message, /before it answered/);
    // The kept connection, then one new one: no third try.
    assert.equal(server.requests.length, 3);
  });

  it('refuses memory too small for the range before sending anything', async (t) => {
    const server = await scriptedServer(t, (req) => serveObject(req));
    const ep = endpoint(t, server.port);
    await assert.rejects(getObjectRange(ep, { bucket: 'b', key: 'k', start: 0, end: 99 }, Buffer.alloc(99)), {
      name: 'RangeError',
      message: 'a range of 100 bytes does not fit in 99',
    });
    assert.equal(server.requests.length, 0);
  });

  it('a refused connection is transient', async (t) => {
    const gone = net.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as net.AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    const failure = await failureOf(read(endpoint(t, port), 0, 9));
    assert.equal(failure.kind, 'transient');
    assert.equal(failure.code, 'ECONNREFUSED');
  });
});
