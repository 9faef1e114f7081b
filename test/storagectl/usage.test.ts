// Mistakes on storagectl's command line: exit 2, the reason and the command's
// usage line on stderr, nothing sent anywhere (the socket named does not
// exist, so a run that tried to connect would exit 3 instead).

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, UsageError, whenOption, durationOption } from '../../src/storagectl/cli-args';
import { ctl } from './storagectl-run';

const NOWHERE = { STORAGED_SOCKET: '/nonexistent/storaged.sock', STORAGED_CLIENT_ID: 'ops' };

const CASES: [string[], RegExp, Record<string, string>?][] = [
  [[], /no command given/],
  [['frobnicate'], /unknown command 'frobnicate'/],
  [['put'], /expected at least 1 argument/],
  [['put', 'x', '--concurrency', '0'], /--concurrency expects a whole number from 1 to 64, got '0'/],
  [['put', 'x', '--concurrency', 'many'], /--concurrency expects a whole number/],
  [['put', 'x', '--metadata', 'novalue'], /--metadata expects key=value/],
  [['put', 'x', '--colour'], /Unknown option '--colour'/],
  [['get'], /expected one argument/],
  [['get', 'a', 'b'], /expected one argument/],
  [['ls'], /ls needs --user U/],
  [['ls', '--user', 'u', '--cursor', 'c', '--all'], /give --cursor or --all, not both/],
  [['ls', '--user', 'u', '--limit', '5000'], /--limit expects a whole number from 1 to 1000/],
  [['search', '--sort', 'colour'], /--sort expects one of uploaded_at/],
  [['search', '--since', 'yesterday'], /--since expects an ISO-8601 time/],
  // A duration too long for a date fell out as 'Invalid time value', exit 1; a day no month has was taken as a later one.
  [['search', '--since', '99999999999d'], /--since reaches back before any date/],
  [['search', '--until', '2026-02-31'], /--until expects an ISO-8601 time .*got '2026-02-31'/],
  [['search', '--since', '2026-13-01T00:00:00Z'], /--since expects an ISO-8601 time/],
  [['url', 'id', '--expires', '5y'], /--expires expects seconds or a duration/],
  [['stats', 'extra'], /unexpected argument 'extra'/],
  [['check', '--thorough'], /Unknown option '--thorough'/],
  [['restore', '--from'], /argument missing/],
  [['backup', 'now'], /unexpected argument 'now'/],
  [['--socket', '/a', '--url', 'http://b', 'ls', '--user', 'u'], /give --socket or --url, not both/],
  [['--url', 'http://127.0.0.1:1', 'ls', '--user', 'u'], /--url needs --token/, {}],
  [['ls', '--user', 'u'], /the socket needs a client id/, { STORAGED_SOCKET: '/nonexistent/storaged.sock' }],
];

for (const [args, reason, env] of CASES) {
  test(`storagectl ${args.join(' ') || '(nothing)'}: exit 2 with a usage line`, async () => {
    const r = await ctl(args, env ?? NOWHERE);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.out, '');
    const lines = r.err.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, r.err);
    assert.match(lines[0], /^storagectl: /);
    assert.match(lines[0], reason);
    assert.match(lines[1], /^usage: storagectl /);
  });
}

test('--help and help print the whole usage; exit 0', async () => {
  for (const args of [['--help'], ['help'], ['ls', '--help']]) {
    const r = await ctl(args, NOWHERE);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: storagectl /);
    for (const command of ['put', 'get', 'stat', 'ls', 'search', 'rm', 'url', 'stats', 'check', 'backup', 'restore', 'rebuild']) assert.match(r.out, new RegExp(`^  ${command} `, 'm'));
  }
});

test('global options may come before or after the command', () => {
  const before = parseCommandLine(['--socket', '/s', 'ls', '--user', 'u', '--json']);
  const after = parseCommandLine(['ls', '--user', 'u', '--socket', '/s', '--json']);
  assert.deepEqual(before, after);
  // The daemon's operations get their own options only (--json is theirs already), and the socket to tell a live daemon by.
  assert.deepEqual(parseCommandLine(['--socket', '/s', 'backup', '--list', '--json']), { command: 'daemon', name: 'backup', args: ['--list'], socket: '/s' });
  assert.deepEqual(parseCommandLine(['restore', '--from', 'catalog-1']), { command: 'daemon', name: 'restore', args: ['--from', 'catalog-1'] });
});

test('times and durations', () => {
  const now = Date.parse('2026-12-04T06:00:00Z');
  assert.equal(whenOption('24h', 'since', 'search', now), '2026-12-03T06:00:00.000Z');
  assert.equal(whenOption('2026-12-01', 'since', 'search', now), '2026-12-01T00:00:00.000Z');
  assert.equal(durationOption('7d', 'expires', 'url'), 604_800);
  assert.equal(durationOption('90', 'expires', 'url'), 90);
  assert.throws(() => whenOption('12/01/2026', 'since', 'search', now), UsageError);
});
