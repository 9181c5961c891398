// setDeadline against a real peer in another process: when this process stalls and the stall ends
// just past a deadline, what the peer sent meanwhile is read before the deadline may expire. This
// is the access point's view of an executor while the access point's event loop was blocked.

import { spawn } from 'node:child_process';
import net from 'node:net';
import { expect, it } from 'vitest';
import { setDeadline, systemClock, type Timer } from '../../src/core/clock.js';
import { waitFor } from '../support/wait.js';

const DEADLINE_MS = 100;
// The deadline falls due 100 ms into each stall; the stall ends 50 ms later, so the timer fires
// within the lateness that counts as jitter: only reading the socket first saves the peer.
const STALL_MS = 150;
const STALLS = 5;

it('reads what the peer sent during a stall before expiring, and still expires once the peer is gone', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  // The peer: a byte every 20 ms, whatever this process is doing.
  const peer = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('net').connect(${port}, '127.0.0.1', () => setInterval(() => s.write('b'), 20)); s.on('error', () => {});`,
    ],
    { stdio: 'ignore' },
  );
  let expired = 0;
  let stalls = 0;
  let reads = 0;
  let deadline: Timer | undefined;
  server.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('data', () => {
      deadline?.cancel();
      deadline = setDeadline(systemClock, DEADLINE_MS, () => expired++);
      reads += 1;
      if (stalls < STALLS && reads % 5 === 0) {
        stalls += 1;
        const until = performance.now() + STALL_MS;
        while (performance.now() < until) {
          // blocked: the peer keeps writing, nothing here reads
        }
      }
    });
  });
  try {
    await waitFor('the stalls', () => stalls === STALLS && reads > STALLS * 5 + 5, 20_000);
    expect(expired).toBe(0);
  } finally {
    peer.kill('SIGKILL');
  }
  // A peer that is really gone is still found.
  await waitFor('expiry after the peer died', () => expired === 1, 5_000);
  server.close();
});
