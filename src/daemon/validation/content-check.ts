import { UnsupportedTypeError, ValidationError } from '../../protocol/errors';
import { canonicalMimeType } from './allowed-types';
import { sniffMimeType } from './content-sniffer';

/**
 * The type a body is stored as: what its bytes are, provided that is allowed
 * and agrees with what the caller declared.
 */
export function checkContent(head: Buffer, declared: string | undefined, allowedTypes: readonly string[]): string {
  if (head.length === 0) throw new ValidationError('File data cannot be empty');
  const sniffed = sniffMimeType(head);
  if (sniffed === null) {
    throw new UnsupportedTypeError(`the bytes are not any allowed type (${allowedTypes.join(', ')})`);
  }
  if (!allowedTypes.includes(sniffed)) {
    throw new UnsupportedTypeError(`the bytes are ${sniffed}, which is not allowed (allowed: ${allowedTypes.join(', ')})`);
  }
  if (declared !== undefined && canonicalMimeType(declared) !== sniffed) {
    throw new UnsupportedTypeError(`declared content type ${declared} does not match the bytes (${sniffed})`);
  }
  return sniffed;
}
