// Whether this process's TLS servers send TLS 1.3 session tickets. The access point never resumes
// a session, yet OpenSSL 3 sends two tickets after every handshake unless its ticket count is 0,
// and Node.js can only get that count from OpenSSL's configuration read at process start
// (OPENSSL_CONF, examples/openssl.cnf). So instead of trusting that the file is there and right,
// the access point asks OpenSSL once at start-up: one handshake with itself on loopback, with the
// fleet port's own context options, counting the tickets a client is given.

import net from 'node:net';
import tls, { type TlsOptions } from 'node:tls';
import { systemClock, type Clock } from '../core/clock.js';

/** The number of session tickets one TLS 1.3 handshake with `options` hands out; undefined if the probe could not tell. */
export function sessionTicketsSent(
  options: TlsOptions,
  clock: Pick<Clock, 'setTimer'> = systemClock,
  timeoutMs = 2_000,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let tickets = 0;
    let settled = false;
    const sockets = new Set<net.Socket>();
    const server = tls.createServer({ ...options, requestCert: false }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      // Tickets go out as the handshake ends, before any application data: once the client has
      // read this byte and the end, it has every ticket the server was going to send.
      socket.end('.');
    });
    const finish = (result: number | undefined): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      for (const s of sockets) s.destroy();
      server.close();
      resolve(result);
    };
    const timer = clock.setTimer(() => finish(undefined), timeoutMs);
    server.on('error', () => finish(undefined));
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      const client = tls.connect({
        host: '127.0.0.1',
        port: address.port,
        // Only the ticket count is looked at: who the server is does not matter here.
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
      });
      sockets.add(client);
      client.on('session', () => tickets++);
      let served = false;
      client.on('data', () => (served = true));
      client.on('error', () => finish(undefined));
      // Node emits 'session' for a ticket a little after the records that follow it are read, so
      // the count is taken when the server's end has been read, not at its first byte.
      client.on('end', () => finish(served ? tickets : undefined));
      client.on('close', () => finish(served ? tickets : undefined));
    });
  });
}
