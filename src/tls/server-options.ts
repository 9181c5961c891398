// TLS settings of the access point's fleet port.

import { constants } from 'node:crypto';
import type { TlsOptions } from 'node:tls';
import type { Identity } from '../identity/identity.js';
import { fleetCiphers } from '../x509/tls-strength.js';

/**
 * Context options for the fleet port. Session tickets are off so that a rotated or revoked
 * certificate is never carried forward by a resumed session: every connection is a full handshake
 * that presents and verifies the current certificates.
 *
 * SSL_OP_NO_TICKET only turns TLS 1.3's tickets into stateful ones. With no session cache they
 * can never resume anything, but OpenSSL still sends two per connection unless its ticket count
 * is 0, and Node.js (20) offers no option for that count: it is set by OpenSSL's configuration at
 * process start (examples/openssl.cnf, through OPENSSL_CONF; test/integration/session-tickets).
 *
 * The security level is pinned (src/x509/tls-strength.ts), so that executors' keys are judged alike
 * by an access point on any Node version.
 */
export function serverContextOptions(identity: Identity): TlsOptions {
  return {
    cert: identity.chainPem,
    key: identity.keyPem,
    ca: identity.bundlePem,
    minVersion: 'TLSv1.2',
    ciphers: fleetCiphers(),
    // No renegotiation either: the certificate judged after the handshake is the one for the connection's life.
    secureOptions: constants.SSL_OP_NO_TICKET | constants.SSL_OP_NO_RENEGOTIATION,
  };
}
