// Which daemon storagectl talks to, and how: the local one over its Unix
// socket, or a remote one over its HTTP gateway, through the project's own
// StorageClient. Flags win over the environment.

import * as fs from 'node:fs';
import { StorageError } from '../protocol/errors';
import { StorageClient, type StorageClientOptions } from '../sidecar-client/storage-client';
import { UsageError, type ParsedArgs } from './cli-args';

export const DEFAULT_SOCKET = '/run/storaged/storaged.sock';

export interface Target {
  /** For messages: the socket path or the gateway URL. */
  where: string;
  /** The client id stores are made under (the token's, when there is one). */
  clientId: string;
  client: StorageClient;
  /** Over the HTTP gateway rather than the socket. */
  remote: boolean;
}

export function connect(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Target {
  const v = args.values;
  const str = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  if (str('socket') !== undefined && str('url') !== undefined) throw new UsageError('give --socket or --url, not both', args.command);
  const url = str('url') ?? (str('socket') === undefined ? env.STORAGED_URL || undefined : undefined);
  if (str('token') !== undefined && str('token-file') !== undefined) throw new UsageError('give --token or --token-file, not both', args.command);
  const tokenFile = str('token-file');
  const token = str('token') ?? (tokenFile === undefined ? undefined : readTokenFile(tokenFile, args.command)) ?? (env.STORAGED_TOKEN || undefined);
  const clientId = str('client') ?? (env.STORAGED_CLIENT_ID || undefined);
  // The CLI makes one pass over what it asks for: a cache would only cost memory.
  const common = { cacheConfig: { enabled: false } };
  let options: StorageClientOptions;
  let where: string;
  if (url !== undefined) {
    if (token === undefined) throw new UsageError('--url needs --token, --token-file or STORAGED_TOKEN', args.command);
    options = { url, token, ...(clientId !== undefined && { clientId }), ...common };
    where = url;
  } else {
    const socketPath = str('socket') ?? (env.STORAGED_SOCKET || DEFAULT_SOCKET);
    if (clientId === undefined) throw new UsageError('the socket needs a client id: --client ID (or STORAGED_CLIENT_ID)', args.command);
    options = { socketPath, clientId, ...(token !== undefined && { token }), ...common };
    where = socketPath;
  }
  let client: StorageClient;
  try {
    client = new StorageClient(options);
  } catch (err) {
    // The client checks the shape of what it is given (a client id, a URL, a token) with TypeErrors.
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message, args.command);
    throw err;
  }
  // Over the gateway the token decides the client; a store still names one, checked for form only.
  return { where, clientId: clientId ?? 'storagectl', client, remote: url !== undefined };
}

/**
 * The token in `file` (its first line), refusing a file that group or others
 * may read, as the daemon refuses such a tokens file: the token stands for its
 * client's photos. No message ever contains the token.
 */
function readTokenFile(file: string, command: string): string {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode & 0o777;
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--token-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, command);
  }
  if ((mode & 0o077) !== 0) {
    throw new UsageError(`--token-file: ${file} has mode ${mode.toString(8)}; it holds a token, so allow only its owner (chmod 600)`, command);
  }
  const token = text.split(/\r?\n/, 1)[0]!.trim();
  if (token === '') throw new UsageError(`--token-file: ${file} holds no token on its first line`, command);
  return token;
}

const CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTSOCK', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** The daemon could not be reached at all (nothing listening, no permission, no such host): nothing else will work either. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof StorageError) || err.code !== 'UNAVAILABLE') return false;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

export function unreachableLine(where: string, err: unknown): string {
  let cause: unknown = (err as { cause?: unknown }).cause;
  let code = '';
  while (cause !== undefined && cause !== null && code === '') {
    code = typeof (cause as { code?: unknown }).code === 'string' ? (cause as { code: string }).code : '';
    cause = (cause as { cause?: unknown }).cause;
  }
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied (is this user in the storaged group?)'
      : code === 'ENOENT' || code === 'ECONNREFUSED'
        ? 'nothing is listening there (is storaged running?)'
        : code || 'connection failed';
  return `cannot reach storaged at ${where}: ${why}`;
}

/** One line for a failed call: its code and message. */
export function errorLine(err: unknown): string {
  if (err instanceof StorageError) return `${err.code}: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  return e instanceof Error ? (e.code !== undefined ? `${e.code}: ${e.message}` : e.message) : String(err);
}
