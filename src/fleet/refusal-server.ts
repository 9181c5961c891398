// The refused-connection path. A client whose certificate the access point refused (none, an
// unknown CA, expired, a SAN outside the prefix) finished a TLS handshake and speaks HTTP/2; it is
// told why, in the form a gRPC client reads (a trailers-only response with grpc-status and our
// ah-error trailer), so the executor prints the guide's line instead of "connection reset". And
// that is all it gets: one stream, small header and session memory limits, a GOAWAY right after
// the answer, and the connection closed. It never reaches grpc-js: an unauthenticated client must
// not be able to buy tens of thousands of RPCs, or megabytes of header buffers, with one
// handshake.

import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { AhError } from '../core/errors.js';
import { ERROR_METADATA_KEY } from '../protocol/fleet-protocol.js';

/** gRPC status codes used for refusals (grpc/status.proto). */
export const GRPC_UNAUTHENTICATED = 16;
export const GRPC_PERMISSION_DENIED = 7;

/** grpc-message is percent-encoded: printable ASCII except '%' stays, everything else is %XX of its UTF-8. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8'))
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** JSON that is plain ASCII (non-ASCII as \u escapes), as an HTTP/2 header value must be. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Largest header list (RFC 9113 6.5.2: names, values and 32 octets a field) a refused client may send. */
export const REFUSAL_MAX_HEADER_LIST_SIZE = 8 * 1024;

/** The size of a header list as RFC 9113 counts it, from the [name, value, ...] array Node hands a stream. */
function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (const field of rawHeaders) size += Buffer.byteLength(field);
  return size + 16 * rawHeaders.length;
}

export class RefusalServer {
  private readonly server = http2.createServer({
    settings: { maxConcurrentStreams: 1, maxHeaderListSize: REFUSAL_MAX_HEADER_LIST_SIZE, enablePush: false },
    // Megabytes; the least Node allows. Header blocks, window data and queued frames count here.
    maxSessionMemory: 1,
    maxHeaderListPairs: 32,
    maxOutstandingPings: 1,
    maxSettings: 8,
  });
  /** The refusal of the session being created: set just before the connection is handed over. */
  private pending: AhError | undefined;
  private readonly reasons = new WeakMap<http2.Http2Session, { error: AhError; answered: boolean }>();

  constructor(private readonly codeFor: (error: AhError) => number) {
    this.server.on('session', (session) => {
      if (this.pending) this.reasons.set(session, { error: this.pending, answered: false });
      session.on('error', () => session.destroy());
      // Everything a client could still want from this session ends with it.
      session.on('close', () => session.socket?.destroy());
    });
    // A broken or hostile client's errors end its session, never this process.
    this.server.on('sessionError', () => {});
    this.server.on(
      'stream',
      (
        stream: http2.ServerHttp2Stream,
        _headers: http2.IncomingHttpHeaders,
        _flags: number,
        rawHeaders: readonly string[],
      ) => {
        stream.on('error', () => {});
        const session = stream.session;
        const refusal = session ? this.reasons.get(session) : undefined;
        if (!session || !refusal || refusal.answered) {
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        refusal.answered = true;
        // Node enforces the advertised maxHeaderListSize only once the client has acknowledged our
        // SETTINGS; until then it takes up to 64 KiB. A client that sends more than it was told is
        // not a real executor: reset the stream and end the session, with no answer.
        if (headerListSize(rawHeaders) > REFUSAL_MAX_HEADER_LIST_SIZE) {
          stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
          session.close();
          return;
        }
        const { error } = refusal;
        try {
          stream.respond(
            {
              ':status': 200,
              'content-type': 'application/grpc',
              'grpc-status': String(this.codeFor(error)),
              'grpc-message': encodeGrpcMessage(error.message),
              [ERROR_METADATA_KEY]: asciiJson(error.toJSON()),
            },
            { endStream: true },
          );
          // GOAWAY now: no further stream will be taken; the session closes once this one is sent.
          session.close();
        } catch {
          // The client reset the stream or the session first: nobody is left to tell.
          session.destroy();
        }
      },
    );
  }

  /** Tells the client on `socket` why it was refused (on its first stream), then closes. */
  refuse(socket: TLSSocket, error: AhError): void {
    this.pending = error;
    try {
      this.server.emit('connection', socket);
    } finally {
      this.pending = undefined;
    }
  }

  close(): void {
    this.server.close();
  }
}
