// A separate client process that keeps N large stores running against the
// daemon until told to stop (sidecar.getPhoto.underLoad's load): the load
// comes from another application, as it would on a real host, so the
// measuring process's own event loop and GC carry only the calls it measures.
//
// argv: socketPath file concurrency. IPC: the parent sends 'stop'; the child
// answers { stored } once its stores in flight have finished, then exits.

import { StorageClient } from '../src/sidecar-client/storage-client';
import { keepStoring } from './large-store-loop';

async function main(): Promise<void> {
  const [socketPath, file, concurrency] = process.argv.slice(2);
  if (socketPath === undefined || file === undefined || concurrency === undefined) throw new Error('usage: store-loader SOCKET FILE CONCURRENCY');
  const client = new StorageClient({ socketPath, clientId: 'bench', callTimeoutMs: 600_000 });
  const stores = keepStoring(client, file, Number(concurrency));
  const stopped = new Promise<void>((resolve) => process.on('message', (m) => m === 'stop' && resolve()));
  process.send!({ started: true });
  await stopped;
  const stored = await stores.stop();
  await client.close();
  process.send!({ stored }, () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`store-loader failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
