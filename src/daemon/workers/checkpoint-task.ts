import type { Piscina } from 'piscina';
import type { CheckpointRunner } from '../db/checkpoint-scheduler';

/** WAL checkpoints of the catalog's database, run on the pool's threads. */
export function walCheckpointIn(pool: Piscina): CheckpointRunner {
  return (file) => pool.run({ file }, { name: 'walCheckpoint' });
}
