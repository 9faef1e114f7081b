// The remote client's public surface: `new RemoteClient({ url, token })`
// speaks to storaged's HTTP gateway with the same PhotoStorage methods the
// sidecar client has.

export { RemoteClient } from './remote-client';
export type { RemoteClientOptions } from './remote-client-options';
