// What admission control is doing, read at scrape time: calls running and
// waiting for a slot, connections open on each door, and how many callers
// were turned away, so an operator sees when to raise a limit (or find who
// floods) before callers complain.

import { MetricRegistry } from '../metrics/metric-registry';
import type { CallAdmission } from './call-admission';

interface Doors {
  socket: () => { connections: number; connectionsRefused: number };
  http: (() => { open: number; refused: number }) | null;
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
    return [
      line('storaged_calls_running', 'Calls holding one of the STORAGED_MAX_CALLS slots', 'gauge', calls.running),
      line('storaged_calls_waiting', 'Calls waiting for a slot', 'gauge', calls.waiting),
      line('storaged_calls_refused_total', 'Calls refused UNAVAILABLE for want of a slot or room to wait', 'counter', calls.refused),
      line('storaged_socket_connections', 'Socket connections open', 'gauge', socket.connections),
      line('storaged_socket_connections_refused_total', 'Socket connections refused past STORAGED_MAX_CONNECTIONS', 'counter', socket.connectionsRefused),
      line('storaged_http_connections', 'HTTP connections open', 'gauge', http.open),
      line('storaged_http_connections_refused_total', 'HTTP connections refused past STORAGED_GATEWAY_MAX_CONNECTIONS', 'counter', http.refused),
    ].join('');
  }
}
