// Answers the coordinator hands to many calls at once. They are frozen all
// the way down, so no caller can change what another one receives, and a
// transport may keep its encoding of one for as long as the object lives.

const shared = new WeakSet<object>();

/** Freezes the value and its nested objects and marks it as shared; returns it. */
export function shareAnswer<T extends object>(value: T): T {
  deepFreeze(value);
  shared.add(value);
  return value;
}

/** Whether the value came from shareAnswer (and so can never change). */
export function isSharedAnswer(value: unknown): value is object {
  return typeof value === 'object' && value !== null && shared.has(value);
}

function deepFreeze(value: object): void {
  // Nested objects are walked even under a frozen parent: the cache freezes a photo, not its metadata.
  Object.freeze(value);
  for (const nested of Object.values(value)) if (typeof nested === 'object' && nested !== null) deepFreeze(nested);
}
