// The PhotoStorage contract over the Unix socket (the sidecar client), with
// socket callers authenticated by token as a daemon with tokens does by default.

import { describeClientContract } from './client-contract';
import { sidecarContractEnv } from './sidecar-env';

describeClientContract('sidecar (Unix socket)', (t, minio, env) => sidecarContractEnv(t, minio, env));
