// The client cache and URLs signed in the client, on either transport, counted
// at the daemon: what the cache answers never reaches it. TTLs, the LRU bound
// and URL margins are driven by an injected clock, not by sleeping.

import * as assert from 'node:assert/strict';
import { pngBytes, sha256 } from '../support/image-bytes';
import type { StorageClient } from '../../src/sidecar-client/storage-client';
import type { ContractCheck, ContractEnv } from './client-contract';
import { probeCoordinator } from './daemon-probe';
import { waitFor } from '../support/wait-for';

function clock() {
  let ms = 5_000_000;
  return { now: () => ms, advance: (seconds: number) => void (ms += seconds * 1000) };
}

async function storeSome(env: ContractEnv, n: number, name: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await env.client('acme').storePhoto(pngBytes(2000 + i), { originalName: `${name}-${i}.png`, clientId: 'acme' })).id);
  }
  return ids;
}

export const cacheChecks: Record<string, ContractCheck> = {
  'cache: a second getPhoto of the same id does not reach the daemon': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const client = env.client('acme', { cacheConfig: { enabled: true } }) as StorageClient;
    const [id] = await storeSome(env, 1, 'twice');
    const first = await client.getPhoto(id!);
    assert.equal(probe.calls('getPhoto'), 1);
    for (let i = 0; i < 5; i++) assert.equal(await client.getPhoto(id!), first);
    assert.equal(probe.calls('getPhoto'), 1, 'the repeats were answered by the cache');
    assert.deepEqual({ ...client.cacheStats(), size: 0, bytes: 0 }, { hits: 5, misses: 1, evictions: 0, size: 0, bytes: 0 });
    await client.close();
    const disabled = env.client('acme', { cacheConfig: { enabled: false } });
    await disabled.getPhoto(id!);
    await disabled.getPhoto(id!);
    assert.equal(probe.calls('getPhoto'), 3, 'cacheConfig.enabled false: every call goes to the daemon');
  },
  'cache: the TTL and the LRU bound hold (injected clock, no sleeps)': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const c = clock();
    const client = env.client('acme', { cacheConfig: { ttl: 10, maxSize: 2, now: c.now } }) as StorageClient;
    const [a, b, d] = (await storeSome(env, 3, 'ttl')) as [string, string, string];
    await client.getPhoto(a);
    c.advance(9.9);
    await client.getPhoto(a);
    assert.equal(probe.calls('getPhoto'), 1, 'within its TTL');
    c.advance(0.2);
    await client.getPhoto(a);
    assert.equal(probe.calls('getPhoto'), 2, 'past its TTL: asked again');

    await client.getPhoto(b);
    await client.getPhoto(d); // a, the least recently used, goes
    assert.equal(probe.calls('getPhoto'), 4);
    await client.getPhoto(d);
    await client.getPhoto(b);
    assert.equal(probe.calls('getPhoto'), 4, 'b and d are held');
    await client.getPhoto(a);
    assert.equal(probe.calls('getPhoto'), 5, 'a was evicted');
    assert.equal(client.cacheStats().evictions, 2);
  },
  'cache: update, delete and store through the same client are seen at once': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const client = env.client('acme', { cacheConfig: { ttl: 3600 } }) as StorageClient;
    const stored = await client.storePhoto(pngBytes(2100), { originalName: 'inv.png', clientId: 'acme', userId: 'inv-user' });
    await client.getPhoto(stored.id);
    await client.updatePhotoMetadata(stored.id, { metadata: { seen: 'yes' } });
    assert.deepEqual((await client.getPhoto(stored.id)).metadata, { seen: 'yes' });
    assert.equal(probe.calls('getPhoto'), 2);

    assert.equal((await client.getUserPhotos('inv-user')).photos.length, 1);
    await client.getUserPhotos('inv-user');
    assert.equal(probe.calls('getUserPhotos'), 1, 'a listing is cached');
    await client.storePhoto(pngBytes(2101), { originalName: 'inv-2.png', clientId: 'acme', userId: 'inv-user' });
    assert.equal((await client.getUserPhotos('inv-user')).photos.length, 2, "a store drops that user's listings");
    assert.equal(probe.calls('getUserPhotos'), 2);

    await client.deletePhoto(stored.id);
    await assert.rejects(client.getPhoto(stored.id), { code: 'NOT_FOUND' });
    assert.equal(probe.calls('getPhoto'), 3, 'after a delete the daemon is asked, and says NOT_FOUND');
  },
  // A read sent before a write and answered after it carries what the daemon
  // had before the write; cached, it served the old photo (or a deleted one)
  // for the whole TTL to the client that made the write.
  'cache: a read answered after a write through the same client does not put the old state back': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const client = env.client('acme', { cacheConfig: { ttl: 3600, listTtl: 3600 } }) as StorageClient;
    const stored = await client.storePhoto(pngBytes(2150), { originalName: 'race.png', clientId: 'acme', userId: 'race-user' });

    probe.holdAnswers('getPhoto', 400);
    const before = client.getPhoto(stored.id);
    await waitFor(() => probe.done('getPhoto') === 1, 'the read to be done at the daemon', 5000);
    await client.updatePhotoMetadata(stored.id, { metadata: { v: '2' } });
    assert.deepEqual((await before).metadata, {}, 'the read was made before the update');
    assert.deepEqual((await client.getPhoto(stored.id)).metadata, { v: '2' }, 'the update is seen, not the late read');

    probe.holdAnswers('getUserPhotos', 400);
    const listing = client.getUserPhotos('race-user');
    await waitFor(() => probe.done('getUserPhotos') === 1, 'the listing to be done at the daemon', 5000);
    await client.storePhoto(pngBytes(2151), { originalName: 'race-2.png', clientId: 'acme', userId: 'race-user' });
    assert.equal((await listing).photos.length, 1);
    assert.equal((await client.getUserPhotos('race-user')).photos.length, 2, 'the store is seen in the listing');

    await client.updatePhotoMetadata(stored.id, { metadata: { v: '3' } }); // so that the next read goes to the daemon
    probe.holdAnswers('getPhoto', 400);
    const beforeDelete = client.getPhoto(stored.id);
    await waitFor(() => probe.done('getPhoto') === 3, 'the read to be done at the daemon', 5000);
    await client.deletePhoto(stored.id);
    await beforeDelete;
    await assert.rejects(client.getPhoto(stored.id), { code: 'NOT_FOUND' }, 'a deleted photo is not served from the cache');
  },
  'cache: a URL near the end of its life is renewed, never handed out': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const c = clock();
    const client = env.client('acme', { cacheConfig: { ttl: 7200, now: c.now } }) as StorageClient;
    const [id] = (await storeSome(env, 1, 'renew')) as [string];
    const url = await client.getPhotoUrl(id, 120);
    assert.equal(await client.getPhotoUrl(id, 120), url);
    c.advance(59); // 61 s left: more than the 60 s margin
    assert.equal(await client.getPhotoUrl(id, 120), url);
    assert.equal(probe.calls('getPhotoUrl'), 1);
    c.advance(2); // 59 s left
    await client.getPhotoUrl(id, 120);
    assert.equal(probe.calls('getPhotoUrl'), 2, 'renewed by the daemon');

    // getPhoto's s3_url too: the daemon's URL lives an hour; a photo whose URL is inside the margin is asked for again.
    await client.getPhoto(id);
    c.advance(3600 - 61);
    await client.getPhoto(id);
    assert.equal(probe.calls('getPhoto'), 1);
    c.advance(2);
    const again = await client.getPhoto(id);
    assert.equal(probe.calls('getPhoto'), 2);
    assert.ok(Date.parse(again.url_expires_at) - Date.now() > 3500_000);
  },
  'direct URLs: signed in the client (minioConfig), no call reaches the daemon, MinIO serves the right bytes': async (t, env) => {
    const probe = probeCoordinator(t, env.daemon);
    const { endPoint, port, accessKey, secretKey } = env.minio;
    const c = clock();
    const client = env.client('acme', {
      cacheConfig: { ttl: 7200, now: c.now },
      minioConfig: { endPoint, port, useSSL: false, accessKey, secretKey },
    }) as StorageClient;
    const body = pngBytes(4321);
    const stored = await client.storePhoto(body, { originalName: 'direct.png', clientId: 'acme' });
    const url = await client.getPhotoUrl(stored.id, 300);
    assert.equal(probe.calls('getPhotoUrl'), 0);
    assert.equal(probe.calls('getPhoto'), 1, 'one round trip for the bucket and key, cached from there');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(body));

    // A cached photo whose URL is inside the margin gets a URL signed here, not a round trip.
    c.advance(3600 - 59);
    const photo = await client.getPhoto(stored.id);
    assert.equal(probe.calls('getPhoto'), 1);
    assert.ok(Date.parse(photo.url_expires_at) - Date.now() > 3500_000, 'a fresh hour');
    assert.equal(sha256(Buffer.from(await (await fetch(photo.s3_url)).arrayBuffer())), sha256(body));
  },
};
