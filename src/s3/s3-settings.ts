// Where and as whom storaged talks S3: the one shape the presigner, the
// main thread's writer and the workers' endpoints are configured with.

export interface S3Settings {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  /** The region requests are signed for. */
  region: string;
  /** false: virtual-hosted style (objectAddress()); absent or true: path style. */
  pathStyle?: boolean;
}
