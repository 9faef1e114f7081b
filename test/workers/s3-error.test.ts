import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ERROR_BODY_BYTES, s3ErrorOf } from '../../src/s3/s3-error';

const xml = (inner: string) => Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error>${inner}<RequestId>17A</RequestId></Error>`);

describe('s3ErrorOf', () => {
  it('takes Code and Message from the XML body, entities decoded, and keeps the status', () => {
    const err = s3ErrorOf(404, xml('<Code>NoSuchKey</Code><Message>The key &quot;a&amp;b&quot; does not exist.</Message>'));
    assert.equal(err.code, 'NoSuchKey');
    assert.equal(err.status, 404);
    assert.equal(err.message, 'MinIO answered 404 NoSuchKey: The key "a&b" does not exist.');
    // As MinIO (Go) writes an apostrophe; and a code point out of range.
    const numeric = s3ErrorOf(400, xml('<Code>XAmzContentSHA256Mismatch</Code><Message>The &#39;x-amz&#x27; header &#9999999;</Message>'));
    assert.equal(numeric.message, "MinIO answered 400 XAmzContentSHA256Mismatch: The 'x-amz' header \ufffd");
  });

  it('without a body, names the status as minio-js did, else by MinIO’s header, else by the number', () => {
    const none = new Uint8Array(0);
    assert.equal(s3ErrorOf(404, none).code, 'NotFound');
    assert.equal(s3ErrorOf(403, none).code, 'AccessDenied');
    assert.equal(s3ErrorOf(503, none).code, 'SlowDown');
    assert.equal(s3ErrorOf(400, none, 'XMinioInvalidObjectName').code, 'XMinioInvalidObjectName');
    assert.equal(s3ErrorOf(400, none).code, 'HTTP_400');
    assert.equal(s3ErrorOf(400, none).message, 'MinIO answered 400 HTTP_400');
    // A body that is not S3's XML says nothing more.
    assert.equal(s3ErrorOf(502, Buffer.from('<html>Bad Gateway</html>')).code, 'HTTP_502');
  });

  it('reads no further than its bound, and takes no code longer than a code can be', () => {
    const late = Buffer.concat([Buffer.alloc(MAX_ERROR_BODY_BYTES, 0x20), xml('<Code>NoSuchKey</Code>')]);
    assert.equal(s3ErrorOf(404, late).code, 'NotFound');
    assert.equal(s3ErrorOf(400, xml(`<Code>${'A'.repeat(129)}</Code>`)).code, 'HTTP_400');
    const longMessage = s3ErrorOf(400, xml(`<Code>InvalidArgument</Code><Message>${'m'.repeat(5000)}</Message>`));
    assert.equal(longMessage.message, 'MinIO answered 400 InvalidArgument');
  });
});
