// Main side of the part transfer tasks: runs them on the pool, counts their
// bytes, and turns their failures into storaged errors.

import type { Piscina } from 'piscina';
import type { DownloadPartResult, DownloadPartTask, UploadPartResult, UploadPartTask } from '../../workers/task-types';
import { metricsOf } from './pool-metrics';
import { runTask } from './task-failure';

export async function uploadPartIn(pool: Piscina, task: UploadPartTask): Promise<UploadPartResult> {
  const result = await runTask(() => pool.run(task, { name: 'uploadPart' }) as Promise<UploadPartResult>);
  metricsOf(pool).bytesUploaded += result.size;
  return result;
}

export async function downloadPartIn(pool: Piscina, task: DownloadPartTask): Promise<DownloadPartResult> {
  const result = await runTask(() => pool.run(task, { name: 'downloadPart' }) as Promise<DownloadPartResult>);
  metricsOf(pool).bytesDownloaded += result.length;
  return result;
}
