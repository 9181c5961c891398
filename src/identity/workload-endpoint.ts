// Where the Workload API is: --spiffe-socket, else SPIFFE_ENDPOINT_SOCKET, else the SPIRE default.
// Accepts `unix:///abs/path` (the SPIFFE form) and a plain absolute path.

import { AhError } from '../core/errors.js';

export const DEFAULT_WORKLOAD_SOCKET = '/run/spire/agent.sock';

export function resolveWorkloadSocket(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const value = flag ?? env.SPIFFE_ENDPOINT_SOCKET ?? DEFAULT_WORKLOAD_SOCKET;
  const from =
    flag !== undefined
      ? '--spiffe-socket'
      : env.SPIFFE_ENDPOINT_SOCKET !== undefined
        ? 'SPIFFE_ENDPOINT_SOCKET'
        : 'default';
  const usage = (reason: string): AhError =>
    new AhError('USAGE', { reason: `invalid Workload API address ${JSON.stringify(value)} (${from}): ${reason}` });
  if (value.startsWith('unix://')) {
    const rest = value.slice('unix://'.length);
    if (!rest.startsWith('/'))
      throw usage('a unix:// address needs an absolute path and no host, e.g. unix:///run/spire/agent.sock');
    if (/[?#]/.test(rest)) throw usage('no query or fragment');
    return rest;
  }
  if (value.startsWith('unix:')) throw usage('the unix: address must not be opaque; write unix:///absolute/path');
  if (value.startsWith('tcp://')) throw usage('TCP Workload API endpoints are not supported; use the unix socket');
  if (!value.startsWith('/')) throw usage('expected unix:///absolute/path or an absolute path');
  return value;
}
