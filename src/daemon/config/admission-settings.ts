// The settings that bound how much callers may ask of the daemon at once:
// connections per door, calls running and waiting, the gateway's request
// rate per token, and how fast wrong tokens may be tried. Read with the rest
// of the config (daemon-config.ts).

import { DEFAULT_CALL_LIMITS, type CallLimits } from '../admission/call-admission';
import { parseRequestRate, type RequestRate } from '../admission/request-rate';
import { DEFAULT_MAX_HTTP_CONNECTIONS } from '../http/http-server';
import { DEFAULT_MAX_CONNECTIONS } from '../socket/socket-server';
import { ConfigError } from './config-error';
import { type Env, readInteger, readString } from './env-readers';

export interface AdmissionSettings {
  /** STORAGED_MAX_CONNECTIONS: socket connections open at once. */
  socketConnections: number;
  /** STORAGED_GATEWAY_MAX_CONNECTIONS: HTTP connections open at once. */
  httpConnections: number;
  /** STORAGED_MAX_CALLS, STORAGED_MAX_WAITING_CALLS, STORAGED_CALL_WAIT_MS: both doors' calls. */
  calls: CallLimits;
  /** STORAGED_GATEWAY_RATE: requests per gateway token; null for none. */
  gatewayRate: RequestRate | null;
  /** STORAGED_AUTH_FAILURE_RATE: wrong tokens per remote address on the gateway; null for no limit. */
  authFailureRate: RequestRate | null;
  /** STORAGED_SOCKET_AUTH_FAILURE_RATE: wrong tokens in socket hellos per Unix user (all connections together where it cannot be read); null for no limit. */
  socketAuthFailureRate: RequestRate | null;
}

/** Ten wrong tokens at once from one address, then one every six seconds. */
export const DEFAULT_AUTH_FAILURE_RATE = '10/min,burst=10';
/** Larger: processes of one Unix user (or every peer, where the user cannot be read) share an allowance, so one misconfigured client is not at once the others' problem. */
export const DEFAULT_SOCKET_AUTH_FAILURE_RATE = '60/min,burst=60';

function readRate(env: Env, name: string, fallback: string): RequestRate | null {
  try {
    return parseRequestRate(readString(env, name, fallback));
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

/** Each connection is a file descriptor; past this many, raise the limit of open files first. */
const MAX_CONNECTIONS = 1_000_000;

export function readAdmissionSettings(env: Env): AdmissionSettings {
  return {
    socketConnections: readInteger(env, 'STORAGED_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1, MAX_CONNECTIONS),
    httpConnections: readInteger(env, 'STORAGED_GATEWAY_MAX_CONNECTIONS', DEFAULT_MAX_HTTP_CONNECTIONS, 1, MAX_CONNECTIONS),
    calls: {
      maxCalls: readInteger(env, 'STORAGED_MAX_CALLS', DEFAULT_CALL_LIMITS.maxCalls, 1, 1_000_000),
      maxWaiting: readInteger(env, 'STORAGED_MAX_WAITING_CALLS', DEFAULT_CALL_LIMITS.maxWaiting, 0, 1_000_000),
      waitMs: readInteger(env, 'STORAGED_CALL_WAIT_MS', DEFAULT_CALL_LIMITS.waitMs, 0, 600_000),
    },
    gatewayRate: readRate(env, 'STORAGED_GATEWAY_RATE', 'off'),
    authFailureRate: readRate(env, 'STORAGED_AUTH_FAILURE_RATE', DEFAULT_AUTH_FAILURE_RATE),
    socketAuthFailureRate: readRate(env, 'STORAGED_SOCKET_AUTH_FAILURE_RATE', DEFAULT_SOCKET_AUTH_FAILURE_RATE),
  };
}
