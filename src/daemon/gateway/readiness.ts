// GET /ready: whether this daemon can take writes now. Each check runs with a
// deadline; a failing one is named with its message so an operator sees which
// part is down (only to an admin token: the message may name the blob store;
// a tenant's token reads 'failing', see route-handlers.ts).

import { StorageError } from '../../protocol/errors';

export type ReadinessChecks = Record<string, () => Promise<void>>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

/** What /ready shows beside its checks without deciding readiness (e.g. the last backup). */
export type ReadinessDetails = () => Record<string, unknown>;

const CHECK_TIMEOUT_MS = 5000;

async function runCheck(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      check().then(
        () => 'ok',
        (err: unknown) => (err instanceof StorageError ? err.message : 'failed'),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(checks: ReadinessChecks): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!)));
  return {
    ready: results.every((r) => r === 'ok'),
    checks: Object.fromEntries(names.map((name, i) => [name, results[i]!])),
  };
}
