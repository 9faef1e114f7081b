// What admission control is doing, read at scrape time: calls running and
// waiting for a slot, connections open on each door, and how many callers
// were turned away, so an operator sees when to raise a limit (or find who
// floods) before callers complain; and how many wrong tokens came, and how
// many callers were refused for them (someone guessing, or a client with a
// stale token).

import { MetricRegistry } from '../metrics/metric-registry';
import type { AuthFailureStats } from './auth-failures';
import type { CallAdmission } from './call-admission';

interface Doors {
  socket: () => { connections: number; connectionsRefused: number; helloAuthFailures: number; hellosRateLimited: number };
  http: (() => { open: number; refused: number }) | null;
  /** The gateway's wrong tokens and the requests refused for them; null with STORAGED_AUTH_FAILURE_RATE off. */
  httpAuth: () => AuthFailureStats | null;
}

function line(name: string, help: string, type: 'gauge' | 'counter', value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

export class AdmissionMetrics extends MetricRegistry {
  constructor(
    private readonly admission: CallAdmission,
    private readonly doors: Doors,
  ) {
    super();
  }

  override render(): string {
    const calls = this.admission.stats();
    const socket = this.doors.socket();
    const http = this.doors.http?.() ?? { open: 0, refused: 0 };
    const httpAuth = this.doors.httpAuth();
    return [
      line('storaged_calls_running', 'Calls holding one of the STORAGED_MAX_CALLS slots', 'gauge', calls.running),
      line('storaged_calls_waiting', 'Calls waiting for a slot', 'gauge', calls.waiting),
      line('storaged_calls_refused_total', 'Calls refused UNAVAILABLE for want of a slot or room to wait', 'counter', calls.refused),
      line('storaged_socket_connections', 'Socket connections open', 'gauge', socket.connections),
      line('storaged_socket_connections_refused_total', 'Socket connections refused past STORAGED_MAX_CONNECTIONS', 'counter', socket.connectionsRefused),
      line('storaged_http_connections', 'HTTP connections open', 'gauge', http.open),
      line('storaged_http_connections_refused_total', 'HTTP connections refused past STORAGED_GATEWAY_MAX_CONNECTIONS', 'counter', http.refused),
      line('storaged_http_auth_failures_total', 'Gateway requests refused 401 for a wrong bearer token (while STORAGED_AUTH_FAILURE_RATE is on)', 'counter', httpAuth?.failures ?? 0),
      line('storaged_http_auth_refused_total', 'Gateway requests refused 429 because their address sent too many wrong tokens', 'counter', httpAuth?.refused ?? 0),
      line('storaged_http_auth_addresses', 'Remote addresses (IPv6: /64 blocks) whose wrong tokens are being counted', 'gauge', httpAuth?.keys ?? 0),
      line('storaged_socket_hello_auth_failures_total', 'Socket hellos refused for a wrong token (while STORAGED_SOCKET_AUTH_FAILURE_RATE is on)', 'counter', socket.helloAuthFailures),
      line('storaged_socket_hellos_rate_limited_total', 'Socket hellos refused RATE_LIMITED because too many wrong tokens came before them', 'counter', socket.hellosRateLimited),
    ].join('');
  }
}
