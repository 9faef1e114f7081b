// Prepared statements for SQL built at run time (searches, patches). The SQL
// is assembled only from fixed fragments, so the shapes are few; the bound
// keeps memory flat even so.

import type { Statement } from 'better-sqlite3';
import type { Db } from './open-database';

export class StatementCache {
  readonly #statements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly capacity = 256,
  ) {}

  get(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement !== undefined) {
      // Re-inserting moves it to the back: the Map's order is least recently used first.
      this.#statements.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.#statements.size >= this.capacity) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
    }
    this.#statements.set(sql, statement);
    return statement;
  }
}
