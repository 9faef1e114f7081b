// The answer to a caller the daemon has no room for (too many connections,
// calls or requests). It is UNAVAILABLE, so every client retries it with
// back-off; unlike other UNAVAILABLE errors its message travels over the
// gateway too, since it names the setting an operator would raise and says
// nothing about the daemon's insides.

import { UnavailableError, type CallerMessage } from '../../protocol/errors';

export class AdmissionRefusal extends UnavailableError implements CallerMessage {
  /** Seconds a caller should wait before it tries again (HTTP Retry-After). */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message, { details: { retryAfterSeconds } });
    this.name = 'AdmissionRefusal';
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get callerMessage(): string {
    return this.message;
  }
}
