// The access point's verdicts on executor certificates, by the certificate's exact bytes. The TLS
// listener judges every connection's certificate once; the Connect handler then identifies the
// call from the certificate of the call's own connection (never by address) and finds the
// verdict here instead of parsing the DER again (node:crypto's X509Certificate constructor costs
// about 0.1 ms, the largest single cost of an enrollment after the handshake itself). Revocation
// is not cached: it is checked on every call.

import type { AuthorizedExecutor } from '../tls/authorize-executor.js';

/** Enough for every executor of a large fleet plus one rotation of each; older entries go first. */
const MAX_ENTRIES = 50_000;

export class AuthorizationCache {
  private readonly verdicts = new Map<string, { executor: AuthorizedExecutor; sanPrefix: string }>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** Records that `executor.certificate` passed under the URI SAN prefix `sanPrefix`. */
  remember(executor: AuthorizedExecutor, sanPrefix: string): void {
    const key = executor.certificate.raw.toString('base64');
    this.verdicts.delete(key);
    this.verdicts.set(key, { executor, sanPrefix });
    if (this.verdicts.size > this.maxEntries) this.verdicts.delete(this.verdicts.keys().next().value as string);
  }

  /** The verdict on exactly this certificate (DER) under this prefix, if one was made. */
  lookup(der: Buffer, sanPrefix: string): AuthorizedExecutor | undefined {
    const entry = this.verdicts.get(der.toString('base64'));
    return entry?.sanPrefix === sanPrefix ? entry.executor : undefined;
  }

  get size(): number {
    return this.verdicts.size;
  }
}
