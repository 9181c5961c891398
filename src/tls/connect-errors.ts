// Turns what a failed connection attempt reports (a gRPC status whose details carry Node's or
// OpenSSL's text) into the guide's error. In TLS 1.3 the client finishes its side of the handshake
// before the server has judged the client certificate, so a rejection arrives afterwards as an
// alert: those alerts are mapped here as well as our own structured rejections.

import { AhError, fromSerialized } from '../core/errors.js';

export interface Target {
  host: string;
  port: number;
}

interface Rule {
  test: RegExp;
  make: (target: Target, text: string) => AhError;
}

const hostPort = (t: Target): string => `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
const verifyDetail = (text: string): string => `the access point certificate failed verification: ${text}`;

/**
 * What an operator learns from each way the access point's chain fails to reach our trust bundle.
 * OpenSSL's own words mislead here: "self-signed certificate in certificate chain" only means the
 * access point sent its root along (which is normal) and that root is not one we trust.
 */
const UNTRUSTED_CHAIN: Array<[RegExp, string]> = [
  [
    /self[- ]signed certificate in (the )?certificate chain/i,
    "the access point's chain ends at a root CA that is not in this executor's trust bundle",
  ],
  [
    /self[- ]signed certificate/i,
    "the access point presents a self-signed certificate that is not in this executor's trust bundle",
  ],
  [
    /unable to get local issuer certificate|unable to verify the first certificate/i,
    "the CA that issued the access point's certificate is not in this executor's trust bundle",
  ],
  [
    /unable to get issuer certificate/i,
    "the access point's chain is missing a CA between its certificate and a CA in this executor's trust bundle",
  ],
];

function untrustedChainDetail(text: string): string {
  return UNTRUSTED_CHAIN.find(([test]) => test.test(text))?.[1] ?? verifyDetail(text);
}

/**
 * The reason inside what grpc-js reports. It wraps the socket's error in its own bookkeeping
 * ("No connection established. Last error: Error: ... Resolution note: ..."), and OpenSSL prefixes
 * its reason with an error-stack entry and a source location; an operator needs only the reason.
 */
export function underlyingReason(text: string): string {
  let reason = text.split('\n')[0] ?? '';
  reason = reason.replace(/\.?\s*Resolution note:.*$/, '');
  reason = reason.replace(/^(?:[\w-]+: )?No connection established\. Last error: /, '');
  reason = reason.replace(/^(?:\w*Error: )+/, '');
  // "80ACA11A0C7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:<reason>:../ssl/x.c:1601:SSL alert number 116"
  const openssl = /(?:^|:)error:[0-9A-F]+:[^:]+:[^:]+:([^:]+)(?::[^:]*\.c:\d+)?(:SSL alert number \d+)?/.exec(reason);
  if (openssl) reason = `${openssl[1]}${openssl[2] ? ` (${openssl[2].slice(1)})` : ''}`;
  return reason.trim();
}

// Order matters: the first match wins.
const RULES: Rule[] = [
  { test: /ECONNREFUSED/, make: (t) => new AhError('CONNECTION_REFUSED', { target: hostPort(t) }) },
  // grpc-js resolves names itself and reports "Name resolution failed for target dns:host:port".
  {
    test: /Name resolution failed|ENOTFOUND|EAI_AGAIN|EAI_NONAME/,
    make: (t) => new AhError('NAME_NOT_RESOLVED', { host: t.host }),
  },
  { test: /alert certificate required|alert number 116\b/i, make: () => new AhError('CLIENT_CERT_REQUIRED') },
  {
    test: /alert unknown ca|alert number 48\b/i,
    make: () => new AhError('CLIENT_CERT_REJECTED', { reason: 'certificate signed by unknown authority' }),
  },
  {
    test: /alert certificate expired|alert number 45\b/i,
    make: () =>
      new AhError(
        'CERT_NOT_VALID_NOW',
        {},
        { detail: 'the access point rejected this certificate as expired or not yet valid' },
      ),
  },
  {
    test: /alert (bad certificate|certificate unknown|unsupported certificate)|alert number (42|43|46)\b/i,
    make: (_t, text) => new AhError('CLIENT_CERT_REJECTED', { reason: 'bad certificate' }, { detail: text }),
  },
  {
    test: /self[- ]signed certificate|unable to get local issuer certificate|unable to verify the first certificate|unable to get issuer certificate/i,
    make: (_t, text) => new AhError('SERVER_UNKNOWN_AUTHORITY', {}, { detail: untrustedChainDetail(text) }),
  },
  {
    // Any other verification failure of the server's chain (expired, not yet valid, purpose, ...).
    test: /certificate|CERT_|verify/i,
    make: (_t, text) => new AhError('SERVER_CERT_VERIFY_FAILED', {}, { detail: verifyDetail(text) }),
  },
  {
    test: /wrong version number|packet length too long|unknown protocol|no protocols available|SSL routines/i,
    make: (_t, text) =>
      new AhError('TLS_HANDSHAKE_FAILED', { reason: 'the peer did not complete a TLS handshake' }, { detail: text }),
  },
  {
    test: /ETIMEDOUT/,
    make: (t) => new AhError('CONNECTION_LOST', { reason: `no route to ${hostPort(t)} (timed out)` }),
  },
  {
    test: /EHOSTUNREACH|ENETUNREACH/,
    make: (t) => new AhError('CONNECTION_LOST', { reason: `no route to ${hostPort(t)}` }),
  },
  {
    test: /ECONNRESET|socket hang up|disconnected before secure TLS connection|Failed to connect/i,
    make: () => new AhError('CONNECTION_LOST', { reason: 'closed by the access point during the handshake' }),
  },
];

// The peer's words end up in our logs: no control characters (no forged log lines), bounded length.
const clean = (v: unknown): string =>
  String(v)
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .slice(0, 500);

/** The structured error the access point attaches to a rejection, if any. */
export function remoteError(metadataValue: unknown): AhError | undefined {
  if (typeof metadataValue !== 'string' && !Buffer.isBuffer(metadataValue)) return undefined;
  try {
    const parsed = JSON.parse(metadataValue.toString()) as {
      code: unknown;
      message?: unknown;
      facts?: Record<string, unknown>;
      detail?: unknown;
    };
    if (typeof parsed.code !== 'string' || !/^[A-Z][A-Z0-9_]{0,63}$/.test(parsed.code)) return undefined;
    const facts = Object.fromEntries(Object.entries(parsed.facts ?? {}).map(([k, v]) => [k, clean(v)]));
    return fromSerialized(
      {
        code: parsed.code,
        facts,
        ...(parsed.message === undefined ? {} : { message: clean(parsed.message) }),
        ...(parsed.detail === undefined ? {} : { detail: clean(parsed.detail) }),
      },
      'access point',
    );
  } catch {
    return undefined;
  }
}

/**
 * Classifies the text of a failed attempt (matched whole, so that OpenSSL's alert numbers count);
 * what ends up in the error is only the underlying reason. Falls back to CONNECTION_LOST with it.
 */
export function classifyConnectError(target: Target, text: string): AhError {
  const reason = underlyingReason(text) || 'unknown';
  for (const rule of RULES) if (rule.test.test(text)) return rule.make(target, reason);
  return new AhError('CONNECTION_LOST', { reason: reason.slice(0, 200) });
}
