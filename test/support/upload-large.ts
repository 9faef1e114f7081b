// Child process for "client killed" tests with large bodies: stores a
// generated JPEG of <size> bytes but sends only its first <sendBytes>, then
// holds the rest back until killed. Prints "holding" once it holds back, or
// "sent" once the whole body is written (sendBytes = size), so the parent
// knows where the upload stands when it kills.
// usage: node upload-large.js <socketPath> <clientId> <size> <sendBytes>

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { StorageClient } from '../../src/sidecar-client/storage-client';

const [socketPath, clientId, sizeArg, sendArg] = process.argv.slice(2);
const size = Number(sizeArg);
const sendBytes = Number(sendArg);
if (!Number.isSafeInteger(size) || !Number.isSafeInteger(sendBytes) || sendBytes > size || size < 16) {
  process.stderr.write('usage: node upload-large.js <socketPath> <clientId> <size> <sendBytes ≤ size>\n');
  process.exit(64);
}

const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const STEP = 256 * 1024;
const block = randomBytes(STEP);
JPEG_HEAD.copy(block);
let sent = 0;
const body = new Readable({
  read() {
    if (sent >= sendBytes) {
      if (sent === size) this.push(null);
      else process.stdout.write('holding\n');
      return;
    }
    const piece = block.subarray(0, Math.min(STEP, sendBytes - sent));
    sent += piece.length;
    this.push(Buffer.from(piece));
  },
});
body.once('end', () => process.stdout.write('sent\n'));

const client = new StorageClient({ socketPath: socketPath!, clientId: clientId!, callTimeoutMs: 600_000 });
client.storePhoto(body, { originalName: 'large.jpg', clientId: clientId!, contentType: 'image/jpeg' }).then(
  () => process.stdout.write('unexpectedly stored\n'),
  (err) => process.stdout.write(`store failed: ${err.code}\n`),
);
