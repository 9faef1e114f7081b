// Hard limits of the wire protocol. The daemon enforces them; the client
// respects them so that a well-behaved client never trips them.

/** Largest frame payload (after the 4-byte length prefix) either side accepts. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Largest frame the daemon reads before a connection's hello: a hello with
 * the longest client id (128) and token (512) is under 1 KiB. Until then the
 * peer is unauthenticated, so it may not make the daemon hold a full frame.
 */
export const MAX_HELLO_BYTES = 4 * 1024;
/** Body bytes carried by one chunk frame; leaves room for the envelope. */
export const CHUNK_BYTES = 256 * 1024;
/** Largest encoded call header (op + arguments, without body chunks). */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Calls one connection may have open at once. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 256;
/** Chunks the server lets a client send ahead of its reading (flow-control window). */
export const UPLOAD_WINDOW_CHUNKS = 8;
/** Chunks the daemon sends ahead of a download's reader (flow-control window). */
export const DOWNLOAD_WINDOW_CHUNKS = 8;
/** Credit one message may grant: more than a window is a peer bug. */
export const MAX_CREDIT_CHUNKS = 1024;
/** Default body limit, as in the seed (50 MB); the daemon's config may change it. */
export const DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024;
/** Presigned URL lifetimes accepted (seconds). */
export const MIN_URL_EXPIRY_SECONDS = 1;
export const MAX_URL_EXPIRY_SECONDS = 7 * 24 * 3600;
export const DEFAULT_URL_EXPIRY_SECONDS = 3600;
/** Search paging. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1000;
export const MAX_OFFSET = 100_000;
