// The benchmarks measure the daemon and its doors, not the client's cache
// (client-cache.ts): their clients turn it off, except client.cachedGet,
// which measures the cache against exactly this.
export const NO_CACHE = { enabled: false } as const;
