// The tenant name a connection binds at handshake. Both ends check it with the
// same rule, so a client learns of a bad id in its constructor, not at connect.

export const MAX_CLIENT_ID_LENGTH = 128;
const CLIENT_ID_PATTERN = /^[\w.:@-]+$/;

/** Why `value` is not an acceptable clientId, or null when it is. */
export function clientIdProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `clientId must be a string, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'clientId must not be empty';
  if (value.length > MAX_CLIENT_ID_LENGTH) {
    return `clientId must be at most ${MAX_CLIENT_ID_LENGTH} characters, got ${value.length}`;
  }
  if (!CLIENT_ID_PATTERN.test(value)) return 'clientId may contain only letters, digits and _ . : @ -';
  return null;
}
