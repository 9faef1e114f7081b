// Human output: sizes, photo lines and records. --json prints the client's
// own objects instead.

import type { Photo } from '../protocol/types';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** One photo per line: id, size, type, upload time, file name (the name last: it may hold spaces). */
export function photoLines(photos: Photo[]): string {
  return photos.map((p) => `${p.id}  ${formatBytes(p.size).padStart(9)}  ${p.mime_type.padEnd(10)}  ${p.uploaded_at}  ${p.original_filename}\n`).join('');
}

/** `key: value` lines of a record, objects as JSON. */
export function recordLines(record: object): string {
  return Object.entries(record)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`)
    .join('');
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
