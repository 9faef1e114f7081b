// A bound on the time one search may spend inside SQLite. better-sqlite3
// exposes neither sqlite3_interrupt nor a progress handler, and a worker
// thread's terminate() takes effect only when the thread returns to
// JavaScript, never inside a statement (measured: a sort of 1,000,000 rows
// terminated after 200 ms ran on until its statement ended, 7.8 s later). So
// a bounded search's SQL calls back into JavaScript now and then, and the
// callback throws once the deadline has passed; SQLite then stops the
// statement at once and the read transaction rolls back.
//
// A call on every row cost 30% to 3x on a count of 1,000,000 matches; gated
// on a hash of the row's seq it is made for about one row in 1,024 and costs
// nothing measurable (415-420 ms against 393-487 ms without the check). The
// hash, rather than `seq % 1024`, so that a tenant whose rows fall on a
// regular stride (tenants storing in turn) still reaches the check. What the
// gate cannot cover is work after the last row is read (sorting every match
// of an unindexed sort): the search threads' own timer ends that by
// terminating the thread (src/daemon/search-threads/search-threads.ts).

import type { Db } from './open-database';

const DEADLINE_FUNCTION = 'storaged_search_deadline';

/** The SQL condition that checks the deadline for about one row in 1,024 of `seqColumn`'s table. */
export function deadlineCheck(seqColumn: string): string {
  return `((((${seqColumn} * 2654435761) >> 16) & 1023) <> 0 OR ${DEADLINE_FUNCTION}())`;
}

/** Thrown inside SQLite by the check when a search ran past its deadline. */
export class DeadlinePassed extends Error {
  constructor() {
    super('the search ran past its deadline');
    this.name = 'DeadlinePassed';
  }
}

/** The deadline of the searches on one connection, one at a time. */
export class SearchDeadline {
  #at = Infinity;

  constructor(db: Db) {
    db.function(DEADLINE_FUNCTION, { deterministic: false }, () => {
      if (performance.now() > this.#at) throw new DeadlinePassed();
      return 1;
    });
  }

  /** Runs `search` with a deadline `ms` from now. */
  within<T>(ms: number, search: () => T): T {
    this.#at = performance.now() + ms;
    try {
      return search();
    } finally {
      this.#at = Infinity;
    }
  }
}
