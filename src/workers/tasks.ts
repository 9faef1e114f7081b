// Every task the daemon's worker pool runs, by name (Piscina's `name` option).
import { applyThreadPriority } from './thread-priority';

applyThreadPriority();

export { walCheckpoint } from './wal-checkpoint';
export { hashFile } from './hash-file';
export { hashGrowingFile } from './hash-growing-file';
export { uploadPart } from './upload-part';
export { downloadPart } from './download-part';
export { snapshotDatabase } from './snapshot-database';
