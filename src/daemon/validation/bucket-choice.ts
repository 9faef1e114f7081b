import type { BucketName } from '../../protocol/types';

/** Images above this go to `images-large` (the seed's split). */
export const LARGE_IMAGE_BYTES = 10 * 1024 * 1024;

export function chooseBucket(mimeType: string, size: number): BucketName {
  if (mimeType.startsWith('image/')) return size > LARGE_IMAGE_BYTES ? 'images-large' : 'images';
  if (mimeType.startsWith('video/')) return 'videos';
  return 'files';
}
