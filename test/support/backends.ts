import type { TestContext } from 'node:test';
import { startMinio, type MinioHandle } from './minio-server';

export type BackendName = 'fs' | 'minio';
export const BACKENDS: BackendName[] = ['fs', 'minio'];

/** MinIO for the minio backend (stopped when the test ends), null for the local one. */
export async function backendFor(t: TestContext, name: BackendName): Promise<MinioHandle | null> {
  return name === 'minio' ? startMinio(t) : null;
}
