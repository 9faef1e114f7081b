// Watches the daemon's coordinator from a contract check: how many calls of
// each kind reached it (through either door: both call the same coordinator),
// and answers held back on purpose, as a lost or late answer would be.

import type { TestContext } from 'node:test';
import type { TestDaemon } from '../support/in-process-daemon';

type Op = 'storePhoto' | 'getPhoto' | 'getPhotoUrl' | 'updatePhotoMetadata' | 'deletePhoto' | 'searchPhotos' | 'getUserPhotos';
const OPS: Op[] = ['storePhoto', 'getPhoto', 'getPhotoUrl', 'updatePhotoMetadata', 'deletePhoto', 'searchPhotos', 'getUserPhotos'];

export interface CoordinatorProbe {
  calls(op: Op): number;
  /** How many calls of `op` have done their work (an answer held back is still on its way). */
  done(op: Op): number;
  /** The next `times` calls of `op` do their work, then answer `ms` later. */
  holdAnswers(op: Op, ms: number, times?: number): void;
}

export function probeCoordinator(t: TestContext, daemon: TestDaemon): CoordinatorProbe {
  const coordinator = daemon.daemon.coordinator as unknown as Record<string, (...args: unknown[]) => unknown>;
  const counts = new Map<Op, number>();
  const holds = new Map<Op, { ms: number; times: number }>();
  const done = new Map<Op, number>();
  const patched: string[] = [];
  for (const op of OPS) {
    const real = coordinator[op]!;
    coordinator[op] = async (...args: unknown[]) => {
      counts.set(op, (counts.get(op) ?? 0) + 1);
      const value = await real.apply(daemon.daemon.coordinator, args);
      done.set(op, (done.get(op) ?? 0) + 1);
      const hold = holds.get(op);
      if (hold !== undefined && hold.times > 0) {
        hold.times--;
        await new Promise((resolve) => setTimeout(resolve, hold.ms));
      }
      return value;
    };
    patched.push(op);
  }
  // The socket answers a getPhoto it has made this second without calling getPhoto: count those too.
  const made = coordinator.madePhotoAnswer!;
  coordinator.madePhotoAnswer = (...args: unknown[]) => {
    if (holds.get('getPhoto')?.times) return undefined;
    let answer: unknown;
    try {
      answer = made.apply(daemon.daemon.coordinator, args);
    } catch (err) {
      counts.set('getPhoto', (counts.get('getPhoto') ?? 0) + 1); // answered NOT_FOUND
      throw err;
    }
    if (answer !== undefined) counts.set('getPhoto', (counts.get('getPhoto') ?? 0) + 1);
    return answer;
  };
  patched.push('madePhotoAnswer');
  t.after(() => {
    // The instance's own properties shadow the class's methods: removing them restores those.
    for (const name of patched) delete coordinator[name];
  });
  return {
    calls: (op) => counts.get(op) ?? 0,
    done: (op) => done.get(op) ?? 0,
    holdAnswers: (op, ms, times = 1) => holds.set(op, { ms, times }),
  };
}
