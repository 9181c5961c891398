// The executor's side of a join (docs/JOIN.md): one TLS connection to the fleet port without a
// client certificate, the access point's chain judged against --ca-pin BEFORE a single HTTP/2
// byte is written, then one gRPC-framed POST of JoinRequest { token, csr } on the refused-
// connection path, and one bounded answer. grpc-js is not used here on purpose: it would write
// its connection preface (and our request) as soon as TLS is up, before we could judge the chain,
// and it offers no hook between the handshake and the first byte that holds the token.

import http2 from 'node:http2';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { Clock, Timer } from '../core/clock.js';
import { formatDuration } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  ERROR_METADATA_KEY,
  fleetServiceDefinition,
  JOIN_PATH,
  MAX_JOIN_REQUEST_BYTES,
  MAX_JOIN_RESPONSE_BYTES,
  type JoinRequest,
  type JoinResponse,
} from '../protocol/fleet-protocol.js';
import { classifyConnectError, remoteError, type Target } from '../tls/connect-errors.js';
import { checkPinnedChain, presentedChain, type PinnedServer } from '../tls/pin-check.js';
import { fleetCiphers } from '../x509/tls-strength.js';

export interface JoinOptions {
  target: Target;
  /** Parsed --ca-pin values (tls/pin-check.ts parseCaPins). */
  pins: readonly string[];
  /** The join token. Written to the stream only after the pin check passed; never logged. */
  token: string;
  csrPem: string;
  /** Bounds the whole exchange: connect, handshake, request and answer. */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  /** Called once the chain passed the pin check, before anything is sent (tests watch the order). */
  onPinned?: (server: PinnedServer) => void;
  /** Local address to connect from (the join benchmark spreads joins over loopback sources). */
  localAddress?: string;
}

export interface JoinResult {
  response: JoinResponse;
  /** What the access point proved to be in the handshake. */
  server: PinnedServer;
}

// SNI must be a host name; for an IP target none is sent (the pin check does not need it).
const hostPort = (t: Target): string => `${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}`;

/** gRPC's length-prefixed message: flag 0 (not compressed), 4-byte big-endian length, the bytes. */
function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** grpc-message is percent-encoded (refusal-server.ts encodeGrpcMessage); bounded and cleaned for logs. */
function decodeGrpcMessage(value: unknown): string {
  if (typeof value !== 'string') return '';
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    text = value;
  }
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300);
}

const GRPC_UNIMPLEMENTED = 12;

/** The error of a gRPC status other than OK: ours from the ah-error trailer, else a protocol error. */
function statusError(fields: http2.IncomingHttpHeaders): AhError {
  const remote = remoteError(fields[ERROR_METADATA_KEY]);
  // The refusal every certificate-less connection gets from an access point that has no Join
  // handler: "client certificate required" alone would send the operator the wrong way.
  if (remote?.code === 'CLIENT_CERT_REQUIRED')
    return new AhError(
      'CLIENT_CERT_REQUIRED',
      {},
      {
        detail:
          'the access point answered the join like any connection without a certificate: its ah version does not take join tokens',
        hint: 'upgrade the access point (compare ah --version on both), or give this executor an identity another way (--identity files|spiffe|vault)',
      },
    );
  if (remote) return remote;
  const status = Number(fields['grpc-status']);
  const message = decodeGrpcMessage(fields['grpc-message']);
  if (status === GRPC_UNIMPLEMENTED)
    return new AhError('PROTOCOL_ERROR', {
      reason: 'the access point does not know the Join call (an older ah version)',
    });
  return new AhError('PROTOCOL_ERROR', {
    reason: `the access point answered the join with grpc-status ${String(fields['grpc-status'])}${message ? `: ${message}` : ''}`,
  });
}

/** Reads one gRPC message out of the response body; PROTOCOL_ERROR when it is not exactly one. */
function oneMessage(body: Buffer): Buffer {
  if (body.length < 5) throw new AhError('PROTOCOL_ERROR', { reason: 'the join answer has no message' });
  if (body[0] !== 0) throw new AhError('PROTOCOL_ERROR', { reason: 'the join answer is compressed (not asked for)' });
  const length = body.readUInt32BE(1);
  if (length !== body.length - 5)
    throw new AhError('PROTOCOL_ERROR', { reason: 'the join answer is not exactly one message' });
  return body.subarray(5);
}

/**
 * Joins the fleet: resolves with the access point's JoinResponse, or rejects with the guide's
 * error. On a pin mismatch (or any other failure of the chain check) the socket is destroyed
 * before anything was written to it, so the token never leaves this host.
 */
export function joinFleet(options: JoinOptions): Promise<JoinResult> {
  const { target, clock, logger } = options;
  const where = hostPort(target);
  const request: JoinRequest = { token: options.token, csr_pem: options.csrPem };
  const method = fleetServiceDefinition().Join;
  if (!method) return Promise.reject(new AhError('INTERNAL', { reason: 'the fleet protocol has no Join call' }));
  const payload = method.requestSerialize(request);
  if (payload.length > MAX_JOIN_REQUEST_BYTES)
    return Promise.reject(
      new AhError('INTERNAL', {
        reason: `the join request is ${payload.length} bytes, over ${MAX_JOIN_REQUEST_BYTES}`,
      }),
    );

  return new Promise<JoinResult>((resolve, reject) => {
    let done = false;
    let session: http2.ClientHttp2Session | undefined;
    let server: PinnedServer | undefined;
    // Only one answer: the first failure (or the result) wins; everything is torn down with it.
    const finish = (error: AhError | undefined, result?: JoinResult): void => {
      if (done) return;
      done = true;
      timer.cancel();
      options.signal?.removeEventListener('abort', onAbort);
      session?.destroy();
      socket.destroy();
      if (error) reject(error);
      else resolve(result as JoinResult);
    };
    const onAbort = (): void => finish(new AhError('CONNECTION_LOST', { reason: 'join cancelled' }));

    logger.debug('joining', { target: where, timeout: formatDuration(options.timeoutMs) });
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      ...(isIP(target.host) ? {} : { servername: target.host }),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      ALPNProtocols: ['h2'],
      // No bundle yet: the chain is judged by the pin check below, before anything is sent.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ciphers: fleetCiphers(),
    });
    const timer: Timer = clock.setTimer(
      () =>
        finish(
          server
            ? new AhError('CONNECTION_LOST', {
                reason: `no join answer from ${where} within ${formatDuration(options.timeoutMs)}`,
              })
            : new AhError('CONNECTION_TIMEOUT', { timeout: formatDuration(options.timeoutMs) }),
        ),
      options.timeoutMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (e: Error) => {
      // Before the handshake: the same words as any failed connection; after it, a lost connection.
      finish(
        server
          ? new AhError('CONNECTION_LOST', { reason: errorText(e) })
          : classifyConnectError(target, `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`),
      );
    });
    socket.once('secureConnect', () => {
      if (done) return;
      try {
        server = checkPinnedChain(presentedChain(socket), options.pins, clock.now());
      } catch (e) {
        const error = isAhError(e) ? e : new AhError('SERVER_CERT_VERIFY_FAILED', {}, { detail: errorText(e) });
        logger.debug('join: access point chain refused; the token was not sent', {
          target: where,
          reason: error.message,
        });
        finish(error);
        return;
      }
      if (socket.alpnProtocol !== 'h2') {
        finish(new AhError('TLS_HANDSHAKE_FAILED', { reason: 'the access point did not agree to HTTP/2 (ALPN h2)' }));
        return;
      }
      logger.debug('join: access point chain matches --ca-pin', {
        target: where,
        server_id: server.serverId,
        root: server.root.subject.replace(/\n/g, ', '),
      });
      options.onPinned?.(server);
      send(server);
    });

    const send = (pinned: PinnedServer): void => {
      session = http2.connect(`https://${where}`, {
        createConnection: () => socket,
        // One request, one small answer: the least memory Node allows.
        maxSessionMemory: 1,
        settings: { enablePush: false },
      });
      session.on('error', (e: Error) => finish(new AhError('CONNECTION_LOST', { reason: errorText(e) })));
      const stream = session.request({
        ':method': 'POST',
        ':path': JOIN_PATH,
        ':authority': where,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.on('error', (e: Error) => finish(new AhError('CONNECTION_LOST', { reason: errorText(e) })));
      const chunks: Buffer[] = [];
      let size = 0;
      let headers: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      stream.on('response', (h) => {
        headers = h;
        const status = h[':status'];
        if (status !== 200) {
          finish(
            new AhError('PROTOCOL_ERROR', { reason: `the access point answered the join with HTTP ${status ?? '?'}` }),
          );
          return;
        }
        // Trailers-only: a refusal arrives in the headers, with the stream ended.
        if (h['grpc-status'] !== undefined && h['grpc-status'] !== '0') finish(statusError(h));
      });
      stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
        trailers = t;
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JOIN_RESPONSE_BYTES + 5) {
          finish(new AhError('PROTOCOL_ERROR', { reason: `the join answer exceeds ${MAX_JOIN_RESPONSE_BYTES} bytes` }));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (done) return;
        const status = trailers ?? headers;
        if (!status || status['grpc-status'] === undefined) {
          finish(new AhError('PROTOCOL_ERROR', { reason: 'the join answer ended without a grpc-status' }));
          return;
        }
        if (status['grpc-status'] !== '0') {
          finish(statusError(status));
          return;
        }
        try {
          const response = method.responseDeserialize(oneMessage(Buffer.concat(chunks))) as JoinResponse;
          logger.debug('join: answered', { target: where, spiffe_id: response.spiffe_id });
          finish(undefined, { response, server: pinned });
        } catch (e) {
          finish(
            isAhError(e)
              ? e
              : new AhError('PROTOCOL_ERROR', { reason: `the join answer does not decode: ${errorText(e)}` }),
          );
        }
      });
      stream.on('close', () => {
        if (!done) finish(new AhError('CONNECTION_LOST', { reason: 'the access point closed the join stream' }));
      });
      stream.end(grpcFrame(payload));
    };
  });
}
