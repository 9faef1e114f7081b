// Every task the daemon's worker pool runs, by name (Piscina's `name` option).
export { walCheckpoint } from './wal-checkpoint';
