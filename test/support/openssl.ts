// The openssl command line, an independent peer for what our X.509 and TLS code makes. It is a
// program of its own, so only integration tests use it (unit tests start no processes).

import { spawnSync } from 'node:child_process';

/** Runs the openssl CLI; returns the exit status and stdout followed by stderr, never throws. */
export function openssl(args: string[], input?: string): { status: number; output: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/**
 * The first application data the server sent (OpenSSL's -msg trace of a record whose inner
 * content type is 23): by then the connection is served, and anything the server sent after the
 * handshake and before it (TLS 1.3 session tickets) has arrived.
 */
export const SERVER_APP_DATA = /<<< TLS 1\.3, InnerContent \[length 0001\]\s+17\b/;
