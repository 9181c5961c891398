// The small HTTP servers of `ah`: the health and metrics endpoint on loopback, and the control API
// on a unix socket. Whatever arrives is hostile until checked, and no request can stop the
// process: a malformed path or escape is a 400, a body cut short by a vanishing client is
// dropped, a handler's fault is a 500, and every wait (headers, body, idle keep-alive) and every
// size (headers, body, connections) is bounded.

import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AhError, errorText } from './errors.js';
import type { Logger } from './logger.js';

export interface HttpResponse {
  status: number;
  body: unknown;
  /** Defaults to JSON; a string body with text/plain is sent as is (Prometheus). */
  contentType?: string;
  headers?: Record<string, string>;
}

/** Handles `METHOD /path` exactly, or `METHOD /prefix/*` with the (decoded) rest of the path as `tail`. */
export type HttpHandler = (request: { body: unknown; tail: string }) => Promise<HttpResponse> | HttpResponse;

export interface HttpServerOptions {
  routes: Record<string, HttpHandler>;
  /** Looks at a request before anything else (Host, Origin); returns the refusal to send, if any. */
  guard?: (request: http.IncomingMessage) => HttpResponse | undefined;
  /** Connections at once; more are closed on arrival, so a crowd of slow clients holds few descriptors. */
  maxConnections: number;
  logger: Logger;
}

/** Largest request body; the control API's bodies are a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024;
const MAX_PATH_LENGTH = 2_048;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a request body up to `max` bytes; rejects if the client goes away before the end. */
function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        // Stop reading; the 413 goes out with connection: close, which ends the rest.
        req.removeAllListeners('data');
        req.pause();
        reject(new RequestError(413, 'request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (e) => reject(e));
    // 'close' before 'end': the client sent less than it announced and hung up.
    req.on('close', () => reject(new RequestError(400, 'request body incomplete')));
  });
}

function isJson(contentType: string | undefined): boolean {
  return /^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(contentType ?? '');
}

export class HttpServer {
  private readonly server: http.Server;
  private readonly methodsByPath = new Map<string, string[]>();
  /** Open connections, oldest first, and how many requests each has in flight. */
  private readonly open = new Set<Socket>();
  private readonly busy = new WeakMap<Socket, number>();

  constructor(private readonly options: HttpServerOptions) {
    this.server = http.createServer(
      {
        // Bounds on what one client can make this process hold, and for how long.
        maxHeaderSize: 8 * 1024,
        headersTimeout: 5_000,
        requestTimeout: 10_000,
        keepAliveTimeout: 5_000,
        // How often the two timeouts above are enforced (Node's default is 30 s).
        connectionsCheckingInterval: 1_000,
      },
      (req, res) => {
        this.handle(req, res).catch((e: unknown) => {
          // Nothing may escape: log, answer if the client is still there, live on.
          options.logger.error('http handler failed', { path: req.url?.slice(0, 200), reason: errorText(e) });
          this.send(res, req, { status: 500, body: { error: 'internal error' } });
        });
      },
    );
    // At the connection cap, the oldest idle connection makes room for the newcomer (turning the
    // newcomer away would let one local user hold every keep-alive slot and lock health checks out).
    this.server.on('connection', (socket: Socket) => this.admit(socket));
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
      res.once('close', () => this.busy.set(socket, Math.max(0, (this.busy.get(socket) ?? 1) - 1)));
    });
    this.server.maxRequestsPerSocket = 100;
    // A failing connection (reset, unparsable request, too slow) is the client's problem, never ours.
    this.server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
      const status =
        e.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      socket.destroy();
    });
    for (const key of Object.keys(options.routes)) {
      const [method, pattern] = key.split(' ') as [string, string];
      this.methodsByPath.set(pattern, [...(this.methodsByPath.get(pattern) ?? []), method]);
    }
  }

  /** Listens on a TCP address. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return this.listenOn({ host, port }, `${host.includes(':') ? `[${host}]` : host}:${port}`).then(
      () => this.address() as AddressInfo,
    );
  }

  /**
   * Listens on a unix socket with `mode` (e.g. 0o660). The socket is bound under a umask that lets
   * only its owner in and is opened up to `mode` afterwards, so it never exists with wider
   * permissions than asked. A socket left by a process that died is replaced; anything else at
   * that path is refused.
   */
  async listenUnix(socketPath: string, mode: number): Promise<void> {
    if (Buffer.byteLength(socketPath) > 107) {
      throw new AhError('LISTEN_FAILED', { address: socketPath, reason: 'unix socket path longer than 107 bytes' });
    }
    const existing = await fs.lstat(socketPath).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (existing && !existing.isSocket())
      throw new AhError('UNSAFE_FILE', { path: socketPath, reason: 'it is not a socket' });
    // The caller holds the state directory's lock: no live process owns this socket.
    if (existing) await fs.rm(socketPath);
    await this.listenOn({ path: socketPath }, socketPath, 0o177);
    await fs.chmod(socketPath, mode);
  }

  private listenOn(
    target: { host: string; port: number } | { path: string },
    label: string,
    umask?: number,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const reason =
          e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
        reject(new AhError('LISTEN_FAILED', { address: label, reason }, { cause: e }));
      };
      this.server.once('error', onError);
      // bind() happens synchronously inside listen(), so the umask covers exactly the socket file.
      const previous = umask === undefined ? undefined : process.umask(umask);
      try {
        this.server.listen(target, () => {
          this.server.off('error', onError);
          this.server.on('error', (e) =>
            this.options.logger.error('http server error', { address: label, reason: errorText(e) }),
          );
          resolve();
        });
      } finally {
        if (previous !== undefined) process.umask(previous);
      }
    });
  }

  private admit(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    if (this.open.size <= this.options.maxConnections) return;
    for (const other of this.open) {
      if (other !== socket && !(this.busy.get(other) ?? 0)) {
        other.destroy();
        return;
      }
    }
    // Every other connection is in the middle of a request: the newcomer waits its turn elsewhere.
    socket.destroy();
  }

  /** Where it listens (a TCP address), once listening. */
  address(): AddressInfo | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private send(
    res: http.ServerResponse,
    req: http.IncomingMessage,
    { status, body, contentType, headers }: HttpResponse,
  ): void {
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === 'string' && contentType ? body : `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(status, {
      'content-type': contentType ?? 'application/json',
      'content-length': Buffer.byteLength(text),
      // Never cached, never sniffed into something a browser would run.
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private route(method: string, path: string): { handler: HttpHandler; tail: string } | undefined {
    const exact = this.options.routes[`${method} ${path}`];
    if (exact) return { handler: exact, tail: '' };
    for (const [key, handler] of Object.entries(this.options.routes)) {
      const [m, pattern] = key.split(' ') as [string, string];
      if (m === method && pattern.endsWith('/*') && path.startsWith(pattern.slice(0, -1))) {
        let tail: string;
        try {
          tail = decodeURIComponent(path.slice(pattern.length - 1));
        } catch {
          throw new RequestError(400, 'malformed percent-escape in path');
        }
        return { handler, tail };
      }
    }
    return undefined;
  }

  /** The methods some route takes at `path` (for 405 and its Allow header). */
  private allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const [pattern, ms] of this.methodsByPath) {
      if (pattern === path || (pattern.endsWith('/*') && path.startsWith(pattern.slice(0, -1))))
        for (const m of ms) methods.add(m);
    }
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const refusal = this.options.guard?.(req);
      if (refusal) return this.send(res, req, { ...refusal, headers: { connection: 'close', ...refusal.headers } });
      const url = req.url ?? '/';
      if (url.length > MAX_PATH_LENGTH) throw new RequestError(414, 'path too long');
      const path = url.split('?')[0] as string;
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const found = this.route(method, path);
      if (!found) {
        const allow = this.allowed(path);
        if (allow.length > 0)
          return this.send(res, req, {
            status: 405,
            body: { error: `method ${req.method} not allowed` },
            headers: { allow: allow.join(', ') },
          });
        return this.send(res, req, { status: 404, body: { error: 'no such endpoint' } });
      }
      const announced = Number(req.headers['content-length'] ?? 0);
      const hasBody = announced > 0 || req.headers['transfer-encoding'] !== undefined;
      let body: unknown;
      if (hasBody) {
        if (!METHODS_WITH_BODY.has(method)) throw new RequestError(400, `${method} takes no body`);
        // Only JSON is taken: a browser cannot send it cross-site without a CORS preflight.
        if (!isJson(req.headers['content-type'])) throw new RequestError(415, 'body must be application/json');
        if (announced > MAX_BODY_BYTES) throw new RequestError(413, 'request body too large');
        const raw = await readBody(req, MAX_BODY_BYTES);
        try {
          body = JSON.parse(raw);
        } catch {
          throw new RequestError(400, 'body is not JSON');
        }
      }
      this.send(res, req, await found.handler({ body, tail: found.tail }));
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      // The client may already be gone (body cut short); then there is nobody to answer.
      this.send(res, req, { status: e.status, body: { error: e.message }, headers: { connection: 'close' } });
    }
  }
}
