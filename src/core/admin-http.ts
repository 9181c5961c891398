// A small HTTP server for the admin endpoints (health, readiness, metrics, fleet operations).
// It listens on loopback by default: whoever can reach it can operate the agent.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AhError, errorText } from './errors.js';

export interface AdminResponse {
  status: number;
  body: unknown;
  /** Defaults to JSON; a string body with text/plain is sent as is (Prometheus). */
  contentType?: string;
}

/** Handles `METHOD /path` exactly, or `METHOD /prefix/*` with the rest of the path as `tail`. */
export type AdminHandler = (request: { body: unknown; tail: string }) => Promise<AdminResponse> | AdminResponse;

const MAX_BODY = 64 * 1024;

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly routes: Record<string, AdminHandler>) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (e: NodeJS.ErrnoException) => {
        const reason = e.code === 'EADDRINUSE' ? 'address already in use' : e.message;
        reject(new AhError('LISTEN_FAILED', { address: `${host}:${port}`, reason }, { cause: e }));
      });
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private route(method: string, path: string): { handler: AdminHandler; tail: string } | undefined {
    const exact = this.routes[`${method} ${path}`];
    if (exact) return { handler: exact, tail: '' };
    for (const [key, handler] of Object.entries(this.routes)) {
      const [m, pattern] = key.split(' ') as [string, string];
      if (m === method && pattern.endsWith('/*') && path.startsWith(pattern.slice(0, -1))) {
        return { handler, tail: decodeURIComponent(path.slice(pattern.length - 1)) };
      }
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = ({ status, body, contentType }: AdminResponse): void => {
      const text = typeof body === 'string' && contentType ? body : `${JSON.stringify(body, null, 2)}\n`;
      res.writeHead(status, { 'content-type': contentType ?? 'application/json' });
      res.end(text);
    };
    const path = (req.url ?? '/').split('?')[0] as string;
    const found = this.route(req.method ?? 'GET', path);
    if (!found) return send({ status: 404, body: { error: `no such endpoint: ${req.method} ${path}` } });
    let raw = '';
    for await (const chunk of req) {
      raw += String(chunk);
      if (raw.length > MAX_BODY) return send({ status: 413, body: { error: 'request too large' } });
    }
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send({ status: 400, body: { error: 'body is not JSON' } });
      }
    }
    try {
      send(await found.handler({ body, tail: found.tail }));
    } catch (e) {
      send({ status: 500, body: { error: errorText(e) } });
    }
  }
}
