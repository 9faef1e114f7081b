/** Whether `head` holds exactly these bytes at `at`. */
export const startsWith = (head: Buffer, bytes: readonly number[], at = 0): boolean =>
  head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);

/** Whether `head` holds this Latin-1 text at `at`. */
export const ascii = (head: Buffer, text: string, at = 0): boolean => startsWith(head, [...Buffer.from(text, 'latin1')], at);
