// What certificate does the access point present to a new handshake right now?

import tls from 'node:tls';

export function servedSerial(port: number, client: { cert: string; key: string; ca: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: 'localhost', ...client, ALPNProtocols: ['h2'] },
      () => {
        const serial = socket.getPeerX509Certificate()?.serialNumber.toUpperCase() ?? '';
        socket.destroy();
        resolve(serial);
      },
    );
    socket.once('error', reject);
  });
}

/** Polls until the served serial is `expected`; resolves with the time that took (ms). */
export async function waitForServedSerial(
  port: number,
  client: { cert: string; key: string; ca: string },
  expected: string,
  timeoutMs = 1_000,
): Promise<number> {
  const start = Date.now();
  let last = '';
  while (Date.now() - start <= timeoutMs) {
    last = await servedSerial(port, client).catch(() => last);
    if (last === expected) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`still serving ${last} after ${timeoutMs}ms, expected ${expected}`);
}
