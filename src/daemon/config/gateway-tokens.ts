// Bearer tokens of the HTTP gateway: `token clientId [admin]` lines, from a
// file (STORAGED_TOKENS_FILE) or the environment (STORAGED_TOKENS, lines
// separated by `,` or `;`). Tokens are kept only as sha256 digests and compared
// in constant time; no message here ever contains one.

import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clientIdProblem } from '../../protocol/client-id';
import { ConfigError } from './config-error';

export const MIN_TOKEN_CHARS = 16;
export const MAX_TOKEN_CHARS = 512;
/** RFC 6750 token68 characters, so a token always fits an Authorization header. */
const TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface GatewayIdentity {
  clientId: string;
  admin: boolean;
  /** Which configured token this is (0, 1, …): a key for per-token state (request rates) that is not the token. */
  tokenNumber: number;
}

interface Entry extends GatewayIdentity {
  digest: Buffer;
}

const digestOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class GatewayTokens {
  readonly #entries: readonly Entry[];

  constructor(entries: readonly Entry[]) {
    this.#entries = entries;
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * The identity a presented token stands for, or null. Every entry is compared
   * (no early exit) and digests have a fixed length, so the time taken says
   * nothing about how close a guess came or which entry matched.
   */
  identify(presented: string): GatewayIdentity | null {
    const digest = digestOf(presented);
    let found: Entry | null = null;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, digest) && found === null) found = entry;
    }
    return found === null ? null : { clientId: found.clientId, admin: found.admin, tokenNumber: found.tokenNumber };
  }
}

/** Parses token lines; `where(n)` names line n in error messages (a file line, or an entry of the variable). */
export function parseTokenLines(lines: readonly string[], variable: string, where: (n: number) => string): GatewayTokens {
  const entries: Entry[] = [];
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    const text = line.replace(/#.*$/, '').trim();
    if (text === '') return;
    const at = where(index + 1);
    const fields = text.split(/\s+/);
    const [token, clientId, flag, ...extra] = fields;
    if (fields.length < 2 || extra.length > 0 || (flag !== undefined && flag !== 'admin')) {
      throw new ConfigError(variable, `${at}: expected 'token clientId' or 'token clientId admin'`);
    }
    if (token!.length < MIN_TOKEN_CHARS || token!.length > MAX_TOKEN_CHARS || !TOKEN_PATTERN.test(token!)) {
      throw new ConfigError(
        variable,
        `${at}: a token must be ${MIN_TOKEN_CHARS} to ${MAX_TOKEN_CHARS} characters of A-Z a-z 0-9 - . _ ~ + / (= at the end only); ` +
          'make one with: openssl rand -hex 24',
      );
    }
    const problem = clientIdProblem(clientId);
    if (problem !== null) throw new ConfigError(variable, `${at}: ${problem}`);
    const digest = digestOf(token!);
    const key = digest.toString('hex');
    if (seen.has(key)) throw new ConfigError(variable, `${at}: this token is already given on an earlier line`);
    seen.add(key);
    entries.push({ digest, clientId: clientId!, admin: flag === 'admin', tokenNumber: entries.length });
  });
  return new GatewayTokens(entries);
}

/** Reads the token file, refusing one that group or others may read (it holds credentials). */
export function readTokenFile(file: string): GatewayTokens {
  const variable = 'STORAGED_TOKENS_FILE';
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!stat.isFile()) throw new ConfigError(variable, `${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    throw new ConfigError(
      variable,
      `${file} has mode ${(stat.mode & 0o777).toString(8)}; it holds credentials, so allow only its owner (chmod 600)`,
    );
  }
  const tokens = parseTokenLines(text.split(/\r?\n/), variable, (n) => `${file} line ${n}`);
  if (tokens.size === 0) throw new ConfigError(variable, `${file} holds no tokens`);
  return tokens;
}

/** STORAGED_TOKENS: the same lines, separated by `,` or `;`. */
export function parseTokenList(value: string): GatewayTokens {
  const tokens = parseTokenLines(value.split(/[,;]/), 'STORAGED_TOKENS', (n) => `entry ${n}`);
  if (tokens.size === 0) throw new ConfigError('STORAGED_TOKENS', 'holds no tokens');
  return tokens;
}

/**
 * The gateway's tokens from the environment. Neither variable set gives an
 * empty set: the gateway then answers 401 on every route but /health (the
 * daemon logs a warning at start), so a local `npm start` still runs.
 */
export function readGatewayTokens(env: Readonly<Record<string, string | undefined>>, cwd: string): GatewayTokens {
  const file = env['STORAGED_TOKENS_FILE']?.trim() || undefined;
  const list = env['STORAGED_TOKENS']?.trim() || undefined;
  if (file !== undefined && list !== undefined) {
    throw new ConfigError('STORAGED_TOKENS', 'set either STORAGED_TOKENS or STORAGED_TOKENS_FILE, not both');
  }
  if (file !== undefined) return readTokenFile(path.resolve(cwd, file));
  if (list !== undefined) return parseTokenList(list);
  return new GatewayTokens([]);
}
