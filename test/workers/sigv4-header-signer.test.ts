import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amzDate, objectPath, uriEncode } from '../../src/s3/sigv4-encoding';
import { EMPTY_SHA256, SigV4HeaderSigner, type RequestToSign } from '../../src/s3/sigv4-header-signer';

// The examples of "Signature Calculations for the Authorization Header"
// (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
// virtual-hosted requests to examplebucket, made 2013-05-24T00:00:00Z.
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const STAMP = '20130524T000000Z';
const HOST = 'examplebucket.s3.amazonaws.com';
const CREDENTIAL = `Credential=${ACCESS_KEY}/20130524/us-east-1/s3/aws4_request`;

type Example = { name: string; req: RequestToSign; signedHeaders: string; signature: string };

/** The two bucket examples: a GET of the bucket with a query, no body. */
function bucketGet(name: string, query: string, signature: string): Example {
  const headers: Array<[string, string]> = [
    ['host', HOST],
    ['x-amz-content-sha256', EMPTY_SHA256],
    ['x-amz-date', STAMP],
  ];
  return { name, req: { method: 'GET', path: '/', query, headers, payloadHash: EMPTY_SHA256 }, signedHeaders: 'host;x-amz-content-sha256;x-amz-date', signature };
}

const awsExamples: Example[] = [
  {
    name: 'GET Object (the first 10 bytes)',
    req: {
      method: 'GET',
      path: '/test.txt',
      query: '',
      headers: [
        ['host', HOST],
        ['range', 'bytes=0-9'],
        ['x-amz-content-sha256', EMPTY_SHA256],
        ['x-amz-date', STAMP],
      ],
      payloadHash: EMPTY_SHA256,
    },
    signedHeaders: 'host;range;x-amz-content-sha256;x-amz-date',
    signature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  },
  {
    name: 'PUT Object (a key that needs encoding, a body, headers given unsorted)',
    req: {
      method: 'PUT',
      path: `/${uriEncode('test$file.text')}`,
      query: '',
      headers: [
        ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
        ['date', 'Fri, 24 May 2013 00:00:00 GMT'],
        ['host', HOST],
        ['x-amz-date', STAMP],
        ['x-amz-content-sha256', '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072'],
      ],
      payloadHash: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    },
    signedHeaders: 'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
    signature: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
  },
  bucketGet('GET Bucket Lifecycle (a query name without a value)', 'lifecycle=', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'),
  bucketGet('Get Bucket (List Objects, two query parameters)', 'max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'),
];

describe('SigV4 Authorization header', () => {
  const signer = new SigV4HeaderSigner(ACCESS_KEY, SECRET_KEY, 'us-east-1');

  for (const example of awsExamples) {
    it(`matches AWS's example: ${example.name}`, () => {
      assert.equal(
        signer.authorization(example.req, STAMP),
        `AWS4-HMAC-SHA256 ${CREDENTIAL},SignedHeaders=${example.signedHeaders},Signature=${example.signature}`,
      );
    });
  }

  it('a second day derives a new signing key (the key is cached per day)', () => {
    const req = awsExamples[0]!.req;
    const nextDay = '20130525T000000Z';
    const other = signer.authorization({ ...req, headers: req.headers.map(([n, v]) => [n, n === 'x-amz-date' ? nextDay : v]) }, nextDay);
    assert.match(other, /Credential=AKIAIOSFODNN7EXAMPLE\/20130525\/us-east-1\/s3\/aws4_request,/);
    assert.doesNotMatch(other, /f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41/);
    // Back to the first day: the same signature as AWS's, not one from the cached key of the second.
    assert.match(signer.authorization(req, STAMP), /Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41$/);
  });

  it('folds and trims whitespace in values, as the canonical form requires', () => {
    const req = awsExamples[1]!.req;
    const spaced: RequestToSign = { ...req, headers: req.headers.map(([n, v]) => [n, n === 'date' ? '  Fri, 24   May 2013 00:00:00 GMT ' : v]) };
    assert.equal(signer.authorization(spaced, STAMP), signer.authorization(req, STAMP));
  });

  it('refuses a header name that is not lowercase (it would sign a request S3 reads otherwise)', () => {
    const req = awsExamples[0]!.req;
    assert.throws(() => signer.authorization({ ...req, headers: [...req.headers, ['X-Amz-Meta', 'a']] }, STAMP), {
      name: 'TypeError',
      message: "a signed header name must be lowercase letters, digits and '-', got 'X-Amz-Meta'",
    });
  });

  it('signs a path-style part upload as minio-js does', () => {
    // minio-js is a dev-time reference here only; the workers no longer load it.
    const { signV4 } = require('minio/dist/main/signing.js') as {
      signV4(req: { method: string; path: string; headers: Record<string, string> }, ak: string, sk: string, region: string, date: Date, sha: string): string;
    };
    const date = new Date('2026-11-29T10:11:12.345Z');
    const stamp = amzDate(date);
    const ours = new SigV4HeaderSigner('minio-ak', 'minio/sk+=', 'eu-west-3');
    for (const key of ['2026/11/0b9a.jpg', 'dir with space/ümlaut (1)*!.jpg']) {
      const path = objectPath('images-large', key);
      const query = `partNumber=7&uploadId=${uriEncode('YmFzZTY0/dXBsb2Fk+aWQ=')}`;
      const sha = 'a'.repeat(64);
      const headers: Record<string, string> = { host: '127.0.0.1:9000', 'x-amz-content-sha256': sha, 'x-amz-date': stamp };
      const theirs = signV4({ method: 'PUT', path: `${path}?${query}`, headers }, 'minio-ak', 'minio/sk+=', 'eu-west-3', date, sha);
      const mine = ours.authorization({ method: 'PUT', path, query, headers: Object.entries(headers), payloadHash: sha }, stamp);
      assert.equal(/Signature=([0-9a-f]{64})/.exec(mine)?.[1], /Signature=([0-9a-f]{64})/.exec(theirs)?.[1], key);
    }
  });
});
