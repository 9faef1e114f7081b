// The settings that bound how much callers may ask of the daemon at once:
// connections per door, calls running and waiting, and the gateway's request
// rate per token. Read with the rest of the config (daemon-config.ts).

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
}

/** Each connection is a file descriptor; past this many, raise the limit of open files first. */
const MAX_CONNECTIONS = 1_000_000;

export function readAdmissionSettings(env: Env): AdmissionSettings {
  const rateText = readString(env, 'STORAGED_GATEWAY_RATE', 'off');
  let gatewayRate: RequestRate | null;
  try {
    gatewayRate = parseRequestRate(rateText);
  } catch (err) {
    throw new ConfigError('STORAGED_GATEWAY_RATE', (err as Error).message);
  }
  return {
    socketConnections: readInteger(env, 'STORAGED_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1, MAX_CONNECTIONS),
    httpConnections: readInteger(env, 'STORAGED_GATEWAY_MAX_CONNECTIONS', DEFAULT_MAX_HTTP_CONNECTIONS, 1, MAX_CONNECTIONS),
    calls: {
      maxCalls: readInteger(env, 'STORAGED_MAX_CALLS', DEFAULT_CALL_LIMITS.maxCalls, 1, 1_000_000),
      maxWaiting: readInteger(env, 'STORAGED_MAX_WAITING_CALLS', DEFAULT_CALL_LIMITS.maxWaiting, 0, 1_000_000),
      waitMs: readInteger(env, 'STORAGED_CALL_WAIT_MS', DEFAULT_CALL_LIMITS.waitMs, 0, 600_000),
    },
    gatewayRate,
  };
}
