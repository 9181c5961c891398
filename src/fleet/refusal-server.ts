// The refused-connection path. A client whose certificate the access point refused (none, an
// unknown CA, expired, a SAN outside the prefix) finished a TLS handshake and speaks HTTP/2; it is
// told why, in the form a gRPC client reads (a trailers-only response with grpc-status and our
// ah-error trailer), so the executor prints the guide's line instead of "connection reset". And
// that is all it gets: one stream, small header and session memory limits, a GOAWAY right after
// the answer, and the connection closed. It never reaches grpc-js: an unauthenticated client must
// not be able to buy tens of thousands of RPCs, or megabytes of header buffers, with one
// handshake.
//
// The one exception is joining (docs/JOIN.md): a connection that presented no certificate at all
// may spend its one stream on POST /ah.fleet.v1.Fleet/Join. The request is read here, bounded in
// size (one gRPC message of MAX_JOIN_REQUEST_BYTES) and in time (JOIN_READ_TIMEOUT_MS), and handed
// to the join handler; its answer goes back as a unary gRPC response (or the same trailers-only
// refusal), and the connection is closed as after any refusal.

import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { systemClock, type Clock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { ERROR_METADATA_KEY, JOIN_PATH, MAX_JOIN_REQUEST_BYTES } from '../protocol/fleet-protocol.js';
import type { JoinAnswer, JoinAttempt } from './join-handler.js';

/**
 * How long a joining client has to send its whole request once the stream is open: a token and a
 * CSR are a few hundred bytes, sent at once, so only a stalled or hostile client takes longer,
 * and it must not hold the connection (and its place in the connection cap) for more.
 */
export const JOIN_READ_TIMEOUT_MS = 5_000;
/** A gRPC message's prefix: a compressed flag (1 byte) and the length (4 bytes, big-endian). */
const GRPC_FRAME_HEADER = 5;

export interface RefusalServerOptions {
  /** Handles the Join call of a certificate-less connection; without it, that call is refused like any other. */
  join?: (attempt: JoinAttempt) => Promise<JoinAnswer>;
  clock?: Clock;
}

/** application/grpc, or application/grpc+proto (the gRPC spec allows a subtype and parameters). */
function isGrpcContentType(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && /^application\/grpc(\+proto)?(;.*)?$/i.test(value);
}

/** A certificate-less connection, which may spend its one stream on Join. */
interface JoinableConnection {
  peer: string;
  address: string;
  /** Called once unless the connection joins: its refusal is then reported as any other. */
  refused: () => void;
  /** Called when its stream turns out to be a Join call, which may take longer than a refusal. */
  joining: () => void;
}

/** What the fleet listener hands over with a certificate-less connection. */
export interface JoinableHooks {
  refused: () => void;
  joining: () => void;
}

const joinProtocolError = (reason: string): AhError => new AhError('PROTOCOL_ERROR', { reason });

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
  private pendingJoin: JoinableConnection | undefined;
  private readonly reasons = new WeakMap<
    http2.Http2Session,
    { error: AhError; answered: boolean; join: JoinableConnection | undefined }
  >();
  private readonly clock: Clock;

  constructor(
    private readonly codeFor: (error: AhError) => number,
    private readonly options: RefusalServerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.server.on('session', (session) => {
      if (this.pending) this.reasons.set(session, { error: this.pending, answered: false, join: this.pendingJoin });
      session.on('error', () => session.destroy());
      // Everything a client could still want from this session ends with it.
      session.on('close', () => {
        const refusal = this.reasons.get(session);
        // A certificate-less connection that never asked anything was refused all the same.
        if (refusal?.join && !refusal.answered) refusal.join.refused();
        session.socket?.destroy();
      });
    });
    // A broken or hostile client's errors end its session, never this process.
    this.server.on('sessionError', () => {});
    this.server.on(
      'stream',
      (
        stream: http2.ServerHttp2Stream,
        headers: http2.IncomingHttpHeaders,
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
        // not a real executor (nor a joining one): reset the stream and end the session, with no answer.
        if (headerListSize(rawHeaders) > REFUSAL_MAX_HEADER_LIST_SIZE) {
          refusal.join?.refused();
          stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
          session.close();
          return;
        }
        const join = this.options.join;
        if (
          join &&
          refusal.join &&
          headers[':method'] === 'POST' &&
          headers[':path'] === JOIN_PATH &&
          isGrpcContentType(headers['content-type'])
        ) {
          // No further stream either way: GOAWAY now, the session closes once the answer is sent.
          session.close();
          refusal.join.joining();
          const { peer, address } = refusal.join;
          void this.readJoinRequest(stream)
            .then((body) => join({ peer, address, body }))
            .then(
              (answer) => this.answerJoin(stream, session, answer),
              () => session.destroy(),
            );
          return;
        }
        refusal.join?.refused();
        this.sendRefusal(stream, session, this.codeFor(refusal.error), refusal.error);
      },
    );
  }

  /** A trailers-only gRPC error with our ah-error trailer, then GOAWAY. */
  private sendRefusal(
    stream: http2.ServerHttp2Stream,
    session: http2.Http2Session,
    code: number,
    error: AhError,
  ): void {
    try {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(code),
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
  }

  /** The join's answer: one gRPC message and grpc-status 0 in the trailers, or the refusal. */
  private answerJoin(stream: http2.ServerHttp2Stream, session: http2.Http2Session, answer: JoinAnswer): void {
    if (stream.destroyed || stream.closed) {
      session.destroy();
      return;
    }
    if (!answer.ok) {
      this.sendRefusal(stream, session, answer.status, answer.error);
      return;
    }
    try {
      const frame = Buffer.alloc(GRPC_FRAME_HEADER + answer.response.length);
      frame.writeUInt32BE(answer.response.length, 1);
      answer.response.copy(frame, GRPC_FRAME_HEADER);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => {
        try {
          stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' });
        } catch {
          session.destroy();
        }
      });
      stream.end(frame);
      session.close();
    } catch {
      session.destroy();
    }
  }

  /**
   * The one gRPC message of a Join call, or why it cannot be had: compressed, longer than
   * MAX_JOIN_REQUEST_BYTES, more than one message, cut short, or slower than JOIN_READ_TIMEOUT_MS.
   * Reading stops at the first of these: nothing past the bound is ever buffered.
   */
  private readJoinRequest(stream: http2.ServerHttp2Stream): Promise<Buffer | AhError> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (result: Buffer | AhError): void => {
        if (done) return;
        done = true;
        timer.cancel();
        stream.off('data', onData);
        // Whatever else the client sends is dropped, not buffered.
        stream.on('data', () => {});
        resolve(result);
      };
      const timer = this.clock.setTimer(
        () => finish(joinProtocolError(`the join request took longer than ${JOIN_READ_TIMEOUT_MS / 1000} s`)),
        JOIN_READ_TIMEOUT_MS,
      );
      const check = (ended: boolean): void => {
        if (size < GRPC_FRAME_HEADER) {
          if (ended) finish(joinProtocolError('the join request ended before its message'));
          return;
        }
        const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        chunks.length = 0;
        chunks.push(all);
        if (all[0] !== 0) return finish(joinProtocolError('the join request is compressed'));
        const length = all.readUInt32BE(1);
        if (length > MAX_JOIN_REQUEST_BYTES)
          return finish(joinProtocolError(`the join request is larger than ${MAX_JOIN_REQUEST_BYTES} bytes`));
        if (size > GRPC_FRAME_HEADER + length)
          return finish(joinProtocolError('the join request holds more than one message'));
        if (size === GRPC_FRAME_HEADER + length) return finish(all.subarray(GRPC_FRAME_HEADER));
        if (ended) finish(joinProtocolError('the join request ended before its message'));
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        // Bounded before it is kept: a client may send more than its length prefix says.
        if (size > GRPC_FRAME_HEADER + MAX_JOIN_REQUEST_BYTES) {
          finish(joinProtocolError(`the join request is larger than ${MAX_JOIN_REQUEST_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
        check(false);
      };
      stream.on('data', onData);
      stream.once('end', () => check(true));
      stream.once('close', () => finish(joinProtocolError('the join request was cut off')));
    });
  }

  /**
   * Tells the client on `socket` why it was refused (on its first stream), then closes. With
   * `joinable` (it presented no certificate), that stream may be a Join call instead; `refused`
   * is called when it turns out not to be (another call, or none), so that a join is not also
   * reported as a refused connection; `joining` when it is a Join call.
   */
  refuse(socket: TLSSocket, error: AhError, joinable?: JoinableHooks): void {
    this.pending = error;
    let reported = false;
    this.pendingJoin = joinable
      ? {
          peer: `${socket.remoteAddress}:${socket.remotePort}`,
          address: socket.remoteAddress ?? '?',
          refused: () => {
            if (reported) return;
            reported = true;
            joinable.refused();
          },
          joining: joinable.joining,
        }
      : undefined;
    try {
      this.server.emit('connection', socket);
    } finally {
      this.pending = undefined;
      this.pendingJoin = undefined;
    }
  }

  close(): void {
    this.server.close();
  }
}
