import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/daemon/config/daemon-config';
import { parseTokenList, readGatewayTokens } from '../../src/daemon/config/gateway-tokens';
import { tempDir } from '../support/temp-dir';

const ALICE = 'alice-token-0123456789';
const ADMIN = 'admin-token-0123456789';

function writeTokenFile(dir: string, text: string, mode = 0o600): string {
  const file = path.join(dir, 'tokens');
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}

test('a token file maps tokens to client ids; comments and blank lines are skipped', (t) => {
  const file = writeTokenFile(tempDir(t), `# gateway tokens\n\n${ALICE} acme\n${ADMIN}   ops admin  # the operator\n`);
  const tokens = readGatewayTokens({ STORAGED_TOKENS_FILE: file }, '/');
  assert.equal(tokens.size, 2);
  assert.deepEqual(tokens.identify(ALICE), { clientId: 'acme', admin: false, tokenNumber: 0 });
  assert.deepEqual(tokens.identify(ADMIN), { clientId: 'ops', admin: true, tokenNumber: 1 });
  assert.equal(tokens.identify('alice-token-012345678'), null, 'a prefix of a token is not the token');
  assert.equal(tokens.identify(''), null);
});

test('STORAGED_TOKENS takes the same lines separated by , or ;', () => {
  const tokens = parseTokenList(`${ALICE} acme; ${ADMIN} ops admin,`);
  assert.equal(tokens.size, 2);
  assert.equal(tokens.identify(ADMIN)?.admin, true);
});

test('bad token lines are refused with the line, never the token', (t) => {
  const dir = tempDir(t);
  const cases: Array<[string, RegExp]> = [
    [`${ALICE}\n`, /line 1: expected 'token clientId'/],
    [`# c\n${ALICE} acme\nshort acme\n`, /line 3: a token must be 16 to 512 characters .*; make one with: openssl rand -hex 24$/],
    [`${ALICE} acme\n${ALICE} other\n`, /line 2: this token is already given on an earlier line/],
    [`${ALICE} acme superuser\n`, /line 1: expected 'token clientId' or 'token clientId admin'/],
    [`${ALICE} acme admin extra\n`, /line 1: expected/],
    [`${ALICE} bad/client\n`, /line 1: clientId may contain only/],
    [`# only a comment\n`, /holds no tokens/],
  ];
  for (const [text, message] of cases) {
    const file = writeTokenFile(dir, text);
    assert.throws(
      () => loadConfig({ STORAGED_DATA_DIR: dir, STORAGED_TOKENS_FILE: file }, dir),
      (err: Error) => {
        assert.match(err.message, /^STORAGED_TOKENS_FILE: /);
        assert.match(err.message, message);
        assert.ok(!err.message.includes(ALICE), `the token leaked into: ${err.message}`);
        return true;
      },
    );
  }
  assert.throws(() => parseTokenList(`${ALICE} acme; nope acme`), /^ConfigError: STORAGED_TOKENS: entry 2: a token must be/);
  // The shortest token taken is 16 characters: 15 is refused at start, saying how to make a good one.
  assert.throws(() => parseTokenList(`${'k'.repeat(15)} acme`), /entry 1: a token must be 16 to 512 characters.*openssl rand -hex 24/);
  assert.equal(parseTokenList(`${'k'.repeat(16)} acme`).size, 1);
});

test('a token file that group or others can read is refused', (t) => {
  const file = writeTokenFile(tempDir(t), `${ALICE} acme\n`, 0o640);
  assert.throws(() => readGatewayTokens({ STORAGED_TOKENS_FILE: file }, '/'), /has mode 640; .*\(chmod 600\)/);
});

test('a missing token file, or both variables, stop the daemon with a clear line', (t) => {
  const dir = tempDir(t);
  assert.throws(() => readGatewayTokens({ STORAGED_TOKENS_FILE: 'missing' }, dir), /STORAGED_TOKENS_FILE: cannot read .*missing: ENOENT/);
  assert.throws(
    () => readGatewayTokens({ STORAGED_TOKENS_FILE: 'x', STORAGED_TOKENS: `${ALICE} acme` }, dir),
    /either STORAGED_TOKENS or STORAGED_TOKENS_FILE, not both/,
  );
});

test('no tokens configured is an empty set that identifies nobody', () => {
  const tokens = readGatewayTokens({}, '/');
  assert.equal(tokens.size, 0);
  assert.equal(tokens.identify(ALICE), null);
});
