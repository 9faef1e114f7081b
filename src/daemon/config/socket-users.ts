// STORAGED_SOCKET_USERS: which Unix user is which client on the socket when
// STORAGED_SOCKET_AUTH=peercred. Entries `user clientId [admin]` separated by
// `;` or `,` (as STORAGED_TOKENS), `user` a uid or a user name. Names are
// resolved once at start with `id -u`, so users from NSS (LDAP, sssd) resolve
// as they do for login, not only those in /etc/passwd.

import { execFileSync } from 'node:child_process';
import { clientIdProblem } from '../../protocol/client-id';
import { ConfigError } from './config-error';

const VARIABLE = 'STORAGED_SOCKET_USERS';
/** uid_t is 32 bits; (uid_t)-1 means "no user" to the kernel, so it is no one's. */
const MAX_UID = 4294967294;
/** POSIX-portable user names (plus the `$` Samba machine accounts end with); nothing `id` could read as an option. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

export interface SocketUser {
  clientId: string;
  admin: boolean;
}

/** uid → client, as configured. */
export class SocketUsers {
  readonly #byUid: ReadonlyMap<number, SocketUser>;

  constructor(byUid: ReadonlyMap<number, SocketUser>) {
    this.#byUid = byUid;
  }

  get size(): number {
    return this.#byUid.size;
  }

  /** The client the Unix user `uid` is, or null when it is none. */
  identify(uid: number): SocketUser | null {
    return this.#byUid.get(uid) ?? null;
  }
}

/** A user name's uid, or null when the system knows no such user. */
export type ResolveUser = (name: string) => number | null;

/** Asks the system (`id -u NAME`), which goes through NSS as logins do. */
export function resolveUserWithId(name: string): number | null {
  let out: string;
  try {
    out = execFileSync('id', ['-u', '--', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // `id` itself missing is not "no such user": say what is wrong.
    if (code === 'ENOENT') throw new ConfigError(VARIABLE, `cannot resolve user '${name}': the id command is not installed; give the uid instead`);
    return null;
  }
  const uid = Number(out.trim());
  return Number.isSafeInteger(uid) ? uid : null;
}

export function parseSocketUsers(value: string, resolve: ResolveUser = resolveUserWithId): SocketUsers {
  const byUid = new Map<number, SocketUser>();
  const lineOf = new Map<number, number>();
  value.split(/[,;]/).forEach((entry, index) => {
    const text = entry.replace(/#.*$/, '').trim();
    if (text === '') return;
    const at = `entry ${index + 1}`;
    const fields = text.split(/\s+/);
    const [user, clientId, flag, ...extra] = fields;
    if (fields.length < 2 || extra.length > 0 || (flag !== undefined && flag !== 'admin')) {
      throw new ConfigError(VARIABLE, `${at}: expected 'user clientId' or 'user clientId admin' (user: a uid or a user name), got '${text}'`);
    }
    const uid = uidOf(user!, at, resolve);
    const problem = clientIdProblem(clientId);
    if (problem !== null) throw new ConfigError(VARIABLE, `${at}: ${problem}`);
    const earlier = lineOf.get(uid);
    if (earlier !== undefined) throw new ConfigError(VARIABLE, `${at}: uid ${uid} is already given in entry ${earlier}; one Unix user is one client`);
    lineOf.set(uid, index + 1);
    byUid.set(uid, { clientId: clientId!, admin: flag === 'admin' });
  });
  if (byUid.size === 0) throw new ConfigError(VARIABLE, "holds no users; expected entries 'user clientId [admin]' separated by ';'");
  return new SocketUsers(byUid);
}

function uidOf(user: string, at: string, resolve: ResolveUser): number {
  if (/^\d+$/.test(user)) {
    const uid = Number(user);
    if (!Number.isSafeInteger(uid) || uid > MAX_UID) throw new ConfigError(VARIABLE, `${at}: uid ${user} is out of range (0 to ${MAX_UID})`);
    return uid;
  }
  if (!USER_NAME.test(user)) throw new ConfigError(VARIABLE, `${at}: '${user}' is neither a uid nor a user name`);
  const uid = resolve(user);
  if (uid === null) throw new ConfigError(VARIABLE, `${at}: no Unix user is named '${user}' on this host (id -u ${user} failed); create it or give the uid`);
  return uid;
}
