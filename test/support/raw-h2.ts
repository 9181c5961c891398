// A bare HTTP/2 client over TLS, for tests that must see what a server does on the wire. It writes
// frames exactly as built (no stream limit, no flow control, no queuing, no HPACK state: every
// header is a literal the server must decode) and records every frame the server sends, reading
// all the time, so the server's answers, resets, GOAWAY and the connection's close are never
// hidden by a client library's own buffering. Building a flight of frames costs the test almost no
// CPU, so a flood of these does not starve the test's own event loop (node:http2's client spends
// about a millisecond of CPU per request it queues).

import net from 'node:net';
import tls from 'node:tls';

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const H2_ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  ENHANCE_YOUR_CALM: 11,
} as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const MAX_FRAME = 16_384;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

const hpackString = (s: string): Buffer => {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
};

/** A header block of literal fields, never indexed, new names (RFC 7541 6.2.2). */
export function headerBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(
    headers.flatMap(([name, value]) => [Buffer.from([0x10]), hpackString(name), hpackString(value)]),
  );
}

/** One HEADERS frame and as many CONTINUATION frames as the block needs. */
export function headersFrames(streamId: number, block: Buffer, endStream: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at === 0 || at < block.length; at += MAX_FRAME) {
    const chunk = block.subarray(at, at + MAX_FRAME);
    const last = at + MAX_FRAME >= block.length;
    const type = at === 0 ? FRAME.HEADERS : FRAME.CONTINUATION;
    const flags = (last ? FLAG.END_HEADERS : 0) | (at === 0 && endStream ? FLAG.END_STREAM : 0);
    parts.push(frame(type, flags, streamId, chunk));
  }
  return Buffer.concat(parts);
}

/** The request headers of a gRPC call to `path`, then `extra`. */
export function grpcRequest(
  path: string,
  extra: ReadonlyArray<readonly [string, string]> = [],
): Array<readonly [string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'https'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ];
}

export interface ServerFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface RawH2Options {
  port: number;
  localAddress?: string;
  /** A client certificate (PEM) and its key; none by default. */
  cert?: Buffer;
  key?: Buffer;
}

export class RawH2 {
  readonly socket: tls.TLSSocket;
  readonly frames: ServerFrame[] = [];
  /** Resolves with the ALPN protocol once TLS is up (rejects if the connection ends first). */
  readonly secure: Promise<string | false>;
  /** Resolves when the connection is closed, by either side, whatever the reason. */
  readonly closed: Promise<void>;
  isClosed = false;
  private pending = Buffer.alloc(0);
  private readonly watchers = new Set<() => void>();

  constructor(options: RawH2Options) {
    const tcp = net.connect({ host: '127.0.0.1', port: options.port, localAddress: options.localAddress });
    tcp.on('error', () => {});
    this.socket = tls.connect({
      socket: tcp,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
      servername: 'localhost',
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    });
    this.socket.on('error', () => {});
    this.secure = new Promise((resolve, reject) => {
      this.socket.once('secureConnect', () => resolve(this.socket.alpnProtocol ?? false));
      this.socket.once('close', () => reject(new Error('closed before TLS was up')));
    });
    this.secure.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        tcp.destroy();
        this.notify();
        resolve();
      }),
    );
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    // The write side may fail once the server has closed: that is an outcome, not an error.
    this.socket.on('end', () => this.socket.destroy());
  }

  /** The client preface and an empty SETTINGS frame. */
  static preface(): Buffer {
    return Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]);
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes, () => {});
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Frames from the server of `type` (on `streamId` if given). */
  received(type: number, streamId?: number): ServerFrame[] {
    return this.frames.filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }

  /** RST_STREAM error codes by stream. */
  resets(): Map<number, number> {
    return new Map(this.received(FRAME.RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)]));
  }

  /** The GOAWAY the server sent, if any: the last stream it took and the error code. */
  goaway(): { lastStreamId: number; code: number } | undefined {
    const f = this.received(FRAME.GOAWAY)[0];
    return f && { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
  }

  /** Resolves once `test` holds or the connection is closed, whichever is first (bounded by the caller). */
  until(test: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (test() || this.isClosed) {
          this.watchers.delete(check);
          resolve(test());
        }
      };
      this.watchers.add(check);
      check();
    });
  }

  /**
   * Sends a PING and resolves when its ACK comes back (true), or on close (false): the server has
   * then processed everything written before it.
   */
  async roundTrip(): Promise<boolean> {
    const data = Buffer.from(`p${String(this.frames.length).padStart(7, '0')}`, 'latin1');
    this.write(frame(FRAME.PING, 0, 0, data));
    return this.until(() =>
      this.frames.some((f) => f.type === FRAME.PING && f.flags & FLAG.ACK && f.payload.equals(data)),
    );
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }

  private read(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      const f: ServerFrame = {
        type: this.pending[3] as number,
        flags: this.pending[4] as number,
        streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.pending.subarray(9, 9 + length)),
      };
      this.pending = this.pending.subarray(9 + length);
      this.frames.push(f);
      // A well-behaved peer acknowledges the server's settings (servers may wait for it).
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) this.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    }
    this.notify();
  }
}
