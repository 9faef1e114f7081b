import pino from 'pino';

export type Logger = pino.Logger;

/** The daemon's one logger: JSON lines on stdout, secrets redacted wherever they appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'storaged',
      level,
      redact: {
        paths: ['secretKey', 'accessKey', '*.secretKey', '*.accessKey', 'config.minio.secretKey', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    // Synchronous: the daemon logs little per request, and a crash must not lose its last lines.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
