// storagectl's command line: which commands exist, the options each takes
// (parsed by node:util's parseArgs, strictly: an unknown option or a missing
// value is a usage error), and the values that must have a shape (counts,
// durations, dates, sort keys) checked before anything is sent.

import { parseArgs } from 'node:util';
import { SORT_FIELDS, type SortField } from '../protocol/types';

/** A mistake in the command line: exit 2 with the command's usage line. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

const GLOBAL: Record<string, OptionSpec> = {
  socket: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  client: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

interface CommandSpec {
  usage: string;
  options: Record<string, OptionSpec>;
  /** Least and most positionals. */
  positionals: [number, number];
}

const PAGE = { limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } } as const;

export const COMMANDS: Record<string, CommandSpec> = {
  put: {
    usage: 'storagectl put FILE|DIR... [--concurrency N] [--user U] [--session S] [--metadata k=v]... [--json]',
    options: { concurrency: { type: 'string' }, user: { type: 'string' }, session: { type: 'string' }, metadata: { type: 'string', multiple: true } },
    positionals: [1, Infinity],
  },
  get: { usage: 'storagectl get ID [-o FILE|-] [--force] [--json]', options: { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, positionals: [1, 1] },
  stat: { usage: 'storagectl stat ID [--json]', options: {}, positionals: [1, 1] },
  ls: { usage: 'storagectl ls --user U [--limit N] [--cursor C | --all] [--json]', options: { user: { type: 'string' }, ...PAGE }, positionals: [0, 0] },
  search: {
    usage: 'storagectl search [QUERY] [--type MIME]... [--since WHEN] [--until WHEN] [--sort FIELD[:asc|desc]] [--user U] [--limit N] [--cursor C | --all] [--json]',
    options: { type: { type: 'string', multiple: true }, since: { type: 'string' }, until: { type: 'string' }, sort: { type: 'string' }, user: { type: 'string' }, ...PAGE },
    positionals: [0, Infinity],
  },
  rm: { usage: 'storagectl rm ID... [--json]', options: {}, positionals: [1, Infinity] },
  url: { usage: 'storagectl url ID [--expires DURATION] [--json]', options: { expires: { type: 'string' } }, positionals: [1, 1] },
  stats: { usage: 'storagectl stats [--json]', options: {}, positionals: [0, 0] },
};

/**
 * The daemon's operations on its catalog and blob store, run by the daemon's
 * own binary. Their options are checked here too, so a mistake is exit 2
 * like any other; what they print is JSON already (--json is accepted).
 */
export const DAEMON_COMMANDS: Record<string, CommandSpec> = {
  check: { usage: 'storagectl check [--verify-checksums] [--repair]', options: { 'verify-checksums': { type: 'boolean' }, repair: { type: 'boolean' } }, positionals: [0, 0] },
  backup: { usage: 'storagectl backup [--list]', options: { list: { type: 'boolean' } }, positionals: [0, 0] },
  restore: { usage: 'storagectl restore [--from NAME|latest]', options: { from: { type: 'string' } }, positionals: [0, 0] },
  rebuild: { usage: 'storagectl rebuild [--force]', options: { force: { type: 'boolean' } }, positionals: [0, 0] },
};

export const USAGE = `usage: storagectl [--socket PATH | --url URL] [--token T | --token-file F] [--client ID] COMMAND [ARGS] [--json]

commands:
  ${Object.values(COMMANDS)
    .map((c) => c.usage.replace(/^storagectl /, ''))
    .join('\n  ')}
  ${Object.values(DAEMON_COMMANDS)
    .map((c) => c.usage.replace(/^storagectl /, ''))
    .join('\n  ')}
      the daemon's own operations (storaged --help), run here with this environment: the daemon's settings, as its user;
      their exit status is the daemon's (check: 0 consistent, 1 problems found, 2 could not check)

connection (flags, else the environment):
  --socket PATH   the local daemon's Unix socket   STORAGED_SOCKET, else /run/storaged/storaged.sock
  --url URL       a daemon's HTTP gateway instead   STORAGED_URL
  --token T       the client's token                STORAGED_TOKEN
  --token-file F  the token, from a file only its owner may read (a --token is in the process list, which every user reads)
  --client ID     the client id (needed with the socket; a token must be this client's)   STORAGED_CLIENT_ID

DURATION: seconds, or a number with s, m, h or d (10m, 7d). WHEN: an ISO-8601 time, or a DURATION ago.
Exit status: 0 done, 1 a call failed (for put and rm: at least one item), 2 usage, 3 the daemon could not be reached.
`;

export interface ParsedArgs {
  command: string;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export type Parsed = ParsedArgs | { command: 'help' } | { command: 'version' } | { command: 'daemon'; name: string; args: string[]; socket?: string };

function allOptions(): Record<string, OptionSpec> {
  const all: Record<string, OptionSpec> = { ...GLOBAL };
  for (const spec of Object.values(COMMANDS)) Object.assign(all, spec.options);
  return all;
}

export function parseCommandLine(argv: string[]): Parsed {
  // First pass, lenient: where is the command? (Global options may come before it.)
  const { tokens } = parseArgs({ args: argv, options: allOptions(), strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((tok) => tok.kind === 'positional');
  if (first === undefined || first.kind !== 'positional') {
    if (tokens.some((tok) => tok.kind === 'option' && tok.name === 'version')) return { command: 'version' };
    if (tokens.some((tok) => tok.kind === 'option' && (tok.name === 'help' || tok.name === 'h'))) return { command: 'help' };
    throw new UsageError('no command given', null);
  }
  const command = first.value;
  const rest = [...argv.slice(0, first.index), ...argv.slice(first.index + 1)];
  if (command === 'help') return { command: 'help' };
  const daemon = Object.hasOwn(DAEMON_COMMANDS, command);
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : daemon ? DAEMON_COMMANDS[command] : undefined;
  if (spec === undefined) throw new UsageError(`unknown command '${command}'`, null);

  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL, ...spec.options }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0], command);
  }
  if (parsed.values.help === true) return { command: 'help' };
  const [least, most] = spec.positionals;
  const n = parsed.positionals.length;
  if (n < least) throw new UsageError(least === 1 && most === 1 ? 'expected one argument' : `expected at least ${least} argument${least === 1 ? '' : 's'}`, command);
  if (n > most) throw new UsageError(most === 0 ? `unexpected argument '${parsed.positionals[0]}'` : `expected ${most === 1 ? 'one argument' : `at most ${most} arguments`}`, command);
  if (daemon) {
    // Only the command's own options go on; --socket tells the daemon's binary which socket is the live daemon's.
    const args = Object.keys(spec.options).flatMap((name) => {
      const value = parsed.values[name];
      return value === undefined || value === false ? [] : value === true ? [`--${name}`] : [`--${name}`, String(value)];
    });
    const socket = typeof parsed.values.socket === 'string' ? parsed.values.socket : undefined;
    return { command: 'daemon', name: command, args, ...(socket !== undefined && { socket }) };
  }
  return { command, values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

export function usageOf(command: string | null): string {
  if (command !== null && Object.hasOwn(COMMANDS, command)) return `usage: ${COMMANDS[command].usage}`;
  if (command !== null && Object.hasOwn(DAEMON_COMMANDS, command)) return `usage: ${DAEMON_COMMANDS[command].usage}`;
  return USAGE.split('\n')[0];
}

/** A whole number within bounds, or a usage error naming the option. */
export function intOption(value: unknown, name: string, min: number, max: number, command: string): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} expects a whole number from ${min} to ${max}, got '${s}'`, command);
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `600`, `10m`, `7d` as seconds. */
export function durationOption(value: unknown, name: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)([smhd]?)$/.exec(String(value));
  if (m === null) throw new UsageError(`--${name} expects seconds or a duration such as 10m, 2h or 7d, got '${String(value)}'`, command);
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's'];
}

/** An ISO-8601 time, or a duration ago (`24h`), as an ISO string. */
export function whenOption(value: unknown, name: string, command: string, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (/^\d+[smhd]$/.test(s)) {
    const ago = new Date(now - durationOption(s, name, command)! * 1000);
    // Past the first date a Date can hold, toISOString would throw a bare RangeError.
    if (Number.isNaN(ago.getTime())) throw new UsageError(`--${name} reaches back before any date a search can name: '${s}'`, command);
    return ago.toISOString();
  }
  const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  // Date.parse rolls a day the month does not have (02-31) over into the next month: refused instead.
  const real = day !== null && Number(day[3]) >= 1 && Number(day[3]) <= new Date(Date.UTC(Number(day[1]), Number(day[2]), 0)).getUTCDate();
  const t = real ? Date.parse(s) : NaN;
  if (Number.isNaN(t)) throw new UsageError(`--${name} expects an ISO-8601 time (2026-12-01, 2026-12-01T10:00:00Z) or a duration ago (24h, 7d), got '${s}'`, command);
  return new Date(t).toISOString();
}

export function sortOption(value: unknown, command: string): { field: SortField; order: 'asc' | 'desc' } | undefined {
  if (value === undefined) return undefined;
  const [field, order = 'desc', ...extra] = String(value).split(':');
  if (!(SORT_FIELDS as readonly string[]).includes(field) || (order !== 'asc' && order !== 'desc') || extra.length > 0) {
    throw new UsageError(`--sort expects one of ${SORT_FIELDS.join(', ')}, optionally followed by :asc or :desc, got '${String(value)}'`, command);
  }
  return { field: field as SortField, order };
}

/** `--metadata k=v`, repeatable, as an object. */
export function metadataOption(values: unknown, command: string): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of values as string[]) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--metadata expects key=value, got '${pair}'`, command);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
