// The etcd3 client options the etcd store uses: each avoids a gotcha of etcd3 1.1.2 with etcd 3.4
// that test/integration/etcd-harness.test.ts shows (docs/ETCD.md says why each one is there).

import { GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from 'etcd3';
import { systemClock } from '../../core/clock.js';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, type IBackoff } from 'cockatiel';

export interface Etcd3Tuning {
  /** Deadline of every unary call (default 5 s); streams (watch, lease keepalive) have none. */
  callTimeoutMs?: number;
  /** How long a host's open breaker refuses calls before one trial call (default 1 s). */
  halfOpenAfterMs?: number;
}

/**
 * Options for the etcd3 client that avoid the gotchas measured in
 * test/integration/etcd-harness.test.ts.
 */
export function recommendedEtcd3Options(hosts: string[], tuning: Etcd3Tuning = {}): Omit<IOptions, 'credentials'> {
  const callTimeoutMs = tuning.callTimeoutMs ?? 5_000;
  // etcd3's defaults treat RESOURCE_EXHAUSTED, INTERNAL, CANCELLED and the rest as a sick host. Here
  // only UNAVAILABLE (cannot reach it) moves a call to another host, and only UNAVAILABLE or
  // DEADLINE_EXCEEDED (reached, but it does not answer: hung, partitioned) count against a host.
  const unreachable = handleWhen((err) => err instanceof GRPCUnavailableError);
  const sick = handleWhen((err) => err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError);
  return {
    hosts,
    // etcd3 1.1.2 declares dialTimeout but never reads it; the call deadline below is what bounds a call.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: systemClock.now() + callTimeoutMs }),
    grpcOptions: {
      // grpc-js refuses received messages over 4 MiB by default; etcd answers a range in one message.
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      // Finds a dead connection under a live watch or lease stream without waiting for a call to
      // fail. Not under 5 s (etcd's --grpc-keepalive-min-time), and no
      // grpc.keepalive_permit_without_calls: etcd answers pings on a connection without streams
      // with GOAWAY too_many_pings.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    },
    faultHandling: {
      // One more try per other host, on UNAVAILABLE only; each retry takes the next host.
      global: retry(unreachable, { maxAttempts: Math.max(1, hosts.length - 1) }),
      // After 3 failures in a row a host is skipped (calls go to the others) until a trial call.
      host: () =>
        circuitBreaker(sick, { halfOpenAfter: tuning.halfOpenAfterMs ?? 1_000, breaker: new ConsecutiveBreaker(3) }),
      // The default waits up to 30 s between watch reconnections; resume within about 2 s.
      // etcd3 types this as an IBackoff but calls next() on it first, as on a backoff factory (which
      // is what its own default, new ExponentialBackoff(), is).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) as unknown as IBackoff<unknown>,
    },
  };
}
