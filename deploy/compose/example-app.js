// The example application of docker-compose.yml: it reaches storaged through
// the socket in the shared volume, as any application on the same host
// would, stores a photo, reads it back and checks the bytes.
//
// It runs in the storaged image, whose /app is the storaged package (the
// client included); STORAGED_CLIENT_MODULE points elsewhere outside it.

'use strict';
const crypto = require('node:crypto');
const { StorageClient } = require(process.env.STORAGED_CLIENT_MODULE || '/app');

async function main() {
  // The token comes from STORAGED_TOKEN; the socket from STORAGED_SOCKET.
  const storage = new StorageClient({ socketPath: process.env.STORAGED_SOCKET, clientId: 'example-app' });
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(4096)]);
  const stored = await storage.storePhoto(png, { originalName: 'compose-example.png', clientId: 'example-app', userId: 'demo' });
  const { body } = await storage.readPhoto(stored.id);
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  if (!Buffer.concat(chunks).equals(png)) throw new Error('the bytes read back differ from the bytes stored');
  process.stdout.write(`${JSON.stringify({ stored: stored.id, bucket: stored.bucket, checksum: stored.checksum })}\n`);
  await storage.close();
}

main().catch((err) => {
  process.stderr.write(`example-app: ${err.code ?? 'ERROR'}: ${err.message}\n`);
  process.exit(1);
});
