// The loopback health endpoint answers only requests addressed to it. A web page the operator has
// open can make the browser send requests to 127.0.0.1 ("DNS rebinding": attacker.example first
// resolves to the attacker, then to 127.0.0.1); the browser still names attacker.example in the
// Host header, and a cross-site fetch carries the page's Origin. Both give it away.

import type http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import os from 'node:os';
import { HttpServer, type HttpResponse, type HttpServerOptions } from './http-server.js';
import type { Logger } from './logger.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const WILDCARD = new Set(['0.0.0.0', '::']);

function splitHost(value: string): { host: string; port: number | undefined } | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(value);
  if (!m) return undefined;
  return { host: (m[1] as string).toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * Whether `hostHeader` names the endpoint bound at `bound`: its own address (or, on loopback,
 * `localhost`) and its port. On a wildcard address, any IP address literal or this machine's
 * name; never some other DNS name.
 */
export function hostMatches(hostHeader: string | undefined, bound: AddressInfo): boolean {
  if (!hostHeader) return false;
  const parsed = splitHost(hostHeader.trim());
  if (!parsed) return false;
  // Host may leave out the port only when it is the scheme's default.
  if ((parsed.port ?? 80) !== bound.port) return false;
  const { host } = parsed;
  if (WILDCARD.has(bound.address))
    return isIP(host) !== 0 || host === 'localhost' || host === os.hostname().toLowerCase();
  if (host === bound.address.toLowerCase()) return true;
  return LOOPBACK.test(bound.address) && host === 'localhost';
}

/** A guard for HttpServer: 421 for a Host that is not ours, 403 for a cross-origin request. */
export function hostGuard(
  bound: () => AddressInfo | undefined,
): (req: http.IncomingMessage) => HttpResponse | undefined {
  return (req) => {
    const address = bound();
    if (!address) return { status: 503, body: { error: 'not listening yet' } };
    if (!hostMatches(req.headers.host, address))
      return { status: 421, body: { error: 'request not addressed to this endpoint (Host header)' } };
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`)
      return { status: 403, body: { error: 'cross-origin requests are refused' } };
    return undefined;
  };
}

/** Connections at once to a health endpoint: Prometheus and a probe or two, with room to spare. */
const HEALTH_MAX_CONNECTIONS = 64;

/** An HTTP server for health and metrics that only answers requests addressed to it. */
export function healthServer(routes: HttpServerOptions['routes'], logger: Logger): HttpServer {
  const server: HttpServer = new HttpServer({
    routes,
    logger,
    maxConnections: HEALTH_MAX_CONNECTIONS,
    guard: hostGuard(() => server.address()),
  });
  return server;
}
