// What a PostgreSQL failure means: an outage (UNAVAILABLE, retryable) or
// not, whether the connection itself is gone (the writer then neither
// rolls back on it nor goes on with the batch), and whether the server ended
// it (a read is then tried on another). A table, one row a failure.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogError, isCatalogOutage, isConnectionBroken, isConnectionEnded, isStatementTimeout } from '../../src/daemon/catalog-pg/pg-errors';
import { NotFoundError, UnavailableError } from '../../src/protocol/errors';

function pgError(code: string, message = 'from the server'): Error {
  return Object.assign(new Error(message), { code });
}

const CASES: Array<[string, unknown, { outage: boolean; broken: boolean; ended: boolean }]> = [
  ['no answer within the read timeout (a hung server)', new Error('Query read timeout'), { outage: true, broken: true, ended: false }],
  ['no connection within the connection timeout', new Error('timeout exceeded when trying to connect'), { outage: true, broken: true, ended: false }],
  ['connection lost', new Error('Connection terminated unexpectedly'), { outage: true, broken: true, ended: true }],
  ['refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), { outage: true, broken: true, ended: false }],
  ['reset', pgError('ECONNRESET', 'read ECONNRESET'), { outage: true, broken: true, ended: true }],
  ['connection failure (08006)', pgError('08006'), { outage: true, broken: true, ended: false }],
  ['administrator shutdown (57P01)', pgError('57P01'), { outage: true, broken: true, ended: true }],
  ['statement_timeout (57014): the statement, not the connection', pgError('57014'), { outage: true, broken: false, ended: false }],
  ['serialization failure (40001)', pgError('40001'), { outage: true, broken: false, ended: false }],
  ['too many connections (53300)', pgError('53300'), { outage: true, broken: false, ended: false }],
  ['unique violation (23505): a bug of ours', pgError('23505'), { outage: false, broken: false, ended: false }],
  ["storaged's own NOT_FOUND", new NotFoundError('photo x not found'), { outage: false, broken: false, ended: false }],
  ['a plain bug', new TypeError('x is not a function'), { outage: false, broken: false, ended: false }],
];

for (const [name, err, expected] of CASES) {
  test(`pg-errors: ${name}`, () => {
    assert.deepEqual({ outage: isCatalogOutage(err), broken: isConnectionBroken(err), ended: isConnectionEnded(err) }, expected);
    const seen = catalogError(err);
    if (expected.outage) {
      assert.ok(seen instanceof UnavailableError);
      assert.equal(seen.retryable, true);
      assert.equal(seen.cause, err);
      assert.doesNotMatch(seen.message, /127\.0\.0\.1|5432/, 'the address stays out of the answer');
    } else {
      assert.equal(seen, err, 'passed through unchanged');
    }
  });
}

// Which 57014 is a statement timeout: on a search's statements only the search's own bound is in force, so
// that one is the search's cost (VALIDATION); a cancel request and every other failure stay what catalogError says.
const TIMEOUTS: Array<[string, unknown, boolean]> = [
  ['statement_timeout', pgError('57014', 'canceling statement due to statement timeout'), true],
  ['a cancel request (pg_cancel_backend)', pgError('57014', 'canceling statement due to user request'), false],
  ['lock_timeout (55P03)', pgError('55P03', 'canceling statement due to lock timeout'), false],
  ['no answer within the read timeout (a hung server)', new Error('Query read timeout'), false],
  ['administrator shutdown (57P01)', pgError('57P01', 'terminating connection due to administrator command'), false],
  ['not an error object', 'statement timeout', false],
];

for (const [name, err, expected] of TIMEOUTS) {
  test(`pg-errors: is a statement timeout? ${name}`, () => {
    assert.equal(isStatementTimeout(err), expected);
  });
}

// A server whose lc_messages is not English: its 57014 is told by whether the statement had run as long as the bound.
const GERMAN_TIMEOUT = pgError('57014', 'storniere Anfrage wegen Zeitüberschreitung der Anweisung');

test('pg-errors: a translated statement timeout is a timeout once the work ran past the bound', () => {
  assert.equal(isStatementTimeout(GERMAN_TIMEOUT, true), true);
});

test('pg-errors: a translated 57014 before the bound is a cancel request, not a timeout', () => {
  assert.equal(isStatementTimeout(GERMAN_TIMEOUT, false), false);
  assert.equal(isStatementTimeout(GERMAN_TIMEOUT), false);
});

test('pg-errors: past the bound, only 57014 is a statement timeout', () => {
  for (const err of [pgError('55P03', 'canceling statement due to lock timeout'), new Error('Query read timeout'), pgError('57P01')]) {
    assert.equal(isStatementTimeout(err, true), false, String(err));
  }
});
