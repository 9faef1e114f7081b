// Child process for "client killed mid-upload" tests: starts a store whose body
// never ends and says so on stdout, then waits to be killed.
// usage: node upload-forever.js <socketPath> <clientId>

import { Readable } from 'node:stream';
import { StorageClient } from '../../src/sidecar-client/storage-client';
import { pngBytes } from './image-bytes';

const [socketPath, clientId] = process.argv.slice(2);
const client = new StorageClient({ socketPath: socketPath!, clientId: clientId!, callTimeoutMs: 600_000 });
let sent = 0;
const body = new Readable({
  read() {
    const chunk = sent === 0 ? pngBytes(64 * 1024) : Buffer.alloc(64 * 1024, 7);
    sent += chunk.length;
    if (sent >= 2 * 1024 * 1024 && sent - chunk.length < 2 * 1024 * 1024) process.stdout.write('sent 2MB\n');
    // Slow down once past 2 MB so the upload is surely still going when the parent kills us.
    if (sent > 2 * 1024 * 1024) setTimeout(() => this.push(chunk), 50);
    else this.push(chunk);
  },
});
client.storePhoto(body, { originalName: 'never-ends.png', clientId: clientId! }).then(
  () => process.stdout.write('unexpectedly stored\n'),
  (err) => process.stdout.write(`store failed: ${err.code}\n`),
);
