// Raw bytes to an HTTP server over TCP or a unix socket: for requests no well-behaved client
// would send (bad escapes, lying Content-Length, garbage headers, a client that hangs up).

import net from 'node:net';

export type RawTarget = { port: number; host?: string } | { path: string };

export interface RawExchange {
  /** Everything the server sent before the connection ended (or the wait ran out). */
  response: string;
  /** The status code of the first response line, if there was one. */
  status: number | undefined;
}

/**
 * Sends `bytes`, then optionally hangs up at once (`hangUp`), and collects the answer until the
 * server closes or `waitMs` passes. Never throws: a reset is an answer too.
 */
export function rawExchange(
  target: RawTarget,
  bytes: Buffer | string,
  options: { hangUp?: boolean; waitMs?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host ?? '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const response = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      resolve({ response, status: m ? Number(m[1]) : undefined });
    };
    const timer = setTimeout(finish, options.waitMs ?? 3_000);
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.hangUp) finish();
    });
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

/** A well-formed request with the given parts (a Host header unless `host: ''` leaves it out). */
export function request(method: string, path: string, headers: Record<string, string> = {}, body = ''): string {
  const all = Object.entries({ host: 'ah', connection: 'close', ...headers }).filter(
    ([k, v]) => !(k === 'host' && v === ''),
  );
  const lines = [`${method} ${path} HTTP/1.1`, ...all.map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
