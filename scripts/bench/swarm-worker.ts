// One process of the large-fleet swarm (bench:scale). It holds a slice of the simulated
// executors: each has its own key and certificate (minted here from the benchmark CA), its own
// TLS connection and HTTP/2 session, and speaks the fleet protocol on the wire: Connect, Hello,
// Welcome, then a heartbeat every interval the access point asked for, counting the acks.
//
// Why not the real Enroller: it carries a grpc-js channel, a status file and rotation machinery
// per executor, which is right for one executor per host but makes one load process the limit
// long before the access point is (bench:fleet stalled near 5,000 that way). This client costs
// one TLS socket and one HTTP/2 session. It reconnects with the executor's own policy and never
// gives up: given several access points (bench:ha), each executor tries them in its own shuffled
// order (the executor's ServerRotation), the next one 200-600 ms after a failure; the backoff
// (0.5 s doubling to 30 s, jittered, reset after 3 acked beats) grows once a whole round failed.
//
// Talks to the parent over IPC: 'ready' after minting, then a stats report every second;
// the parent sends 'go' to start every executor at once and 'stop' to end.

import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { Backoff } from '../../src/core/backoff.js';
import { ServerRotation } from '../../src/executor/server-rotation.js';
import { fleetServiceDefinition } from '../../src/protocol/fleet-protocol.js';
import type { AccessPointMessage, ExecutorMessage } from '../../src/protocol/fleet-protocol.js';
import { CertificateAuthority } from '../../src/x509/authority.js';

export interface SwarmWorkerConfig {
  /** The access points' fleet ports on 127.0.0.1 (one, or several to fail over between). */
  ports: number[];
  /** Source address for this worker's connections (its own ephemeral port range). */
  localAddress: string;
  caCertPem: string;
  caKeyPem: string;
  trustDomain: string;
  first: number;
  count: number;
  heartbeatMs: number;
}

export interface SwarmStats {
  /** Executors with a welcomed, open stream. */
  online: number;
  welcomes: number;
  sent: number;
  acked: number;
  /** Heartbeats sent on a stream that then ended before their ack came. */
  lost: number;
  failures: number;
  /** Failure reasons seen, with counts (bounded). */
  reasons: Record<string, number>;
}

const config = JSON.parse(process.env.AH_SWARM_CONFIG ?? '{}') as SwarmWorkerConfig;
const connect = fleetServiceDefinition().Connect as unknown as {
  path: string;
  requestSerialize: (m: ExecutorMessage) => Buffer;
  responseDeserialize: (b: Buffer) => AccessPointMessage;
};
const stats: SwarmStats = { online: 0, welcomes: 0, sent: 0, acked: 0, lost: 0, failures: 0, reasons: {} };
let stopping = false;

function frame(message: ExecutorMessage): Buffer {
  const body = connect.requestSerialize(message);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

class SimulatedExecutor {
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000, jitter: 0.5 });
  private readonly servers = new ServerRotation(
    config.ports.map((port) => ({ host: '127.0.0.1', port, url: `https://127.0.0.1:${port}` })),
  );
  private session: http2.ClientHttp2Session | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly name: string,
    private readonly cert: string,
    private readonly key: string,
  ) {}

  start(): void {
    if (stopping) return;
    let welcomed = false;
    let ended = false;
    let seq = 0;
    let acked = 0;
    let ackedHere = 0;
    let pending: Buffer = Buffer.alloc(0);
    const { port } = this.servers.current;
    const socket = tls.connect({
      socket: net.connect({ host: '127.0.0.1', port, localAddress: config.localAddress }),
      host: '127.0.0.1',
      cert: this.cert,
      key: this.key,
      ca: config.caCertPem,
      ALPNProtocols: ['h2'],
    });
    const session = http2.connect(`https://127.0.0.1:${port}`, { createConnection: () => socket });
    this.session = session;
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      clearTimeout(connectTimer);
      clearInterval(this.timer);
      if (welcomed) stats.online -= 1;
      stats.lost += seq - acked;
      if (!stopping) {
        stats.failures += 1;
        if (Object.keys(stats.reasons).length < 20 || reason in stats.reasons)
          stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
      }
      session.destroy();
      if (ackedHere >= 3) {
        this.backoff.reset();
        this.servers.succeeded();
      }
      if (stopping) return;
      const delay = reason === 'revoked' || this.servers.failed() ? this.backoff.next() : 200 + 400 * Math.random();
      setTimeout(() => this.start(), delay);
    };
    // Like the executor's --connect-timeout (30 s): TLS, Connect and Welcome, or try again.
    const connectTimer = setTimeout(() => end('connect timeout'), 30_000);
    session.on('error', (e: Error) => end(e.message));
    session.on('close', () => end('session closed'));
    const stream = session.request({
      ':method': 'POST',
      ':path': connect.path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', (e: Error) => end(e.message));
    stream.on('trailers', (t: http2.IncomingHttpHeaders) =>
      end(`grpc-status ${String(t['grpc-status'])}: ${String(t['grpc-message'] ?? '')}`),
    );
    stream.on('close', () => end('stream closed'));
    stream.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const message = connect.responseDeserialize(pending.subarray(5, 5 + length));
        pending = pending.subarray(5 + length);
        if (message.body === 'welcome' && !welcomed) {
          welcomed = true;
          clearTimeout(connectTimer);
          stats.online += 1;
          stats.welcomes += 1;
          // First beat at a random point of the interval, so the swarm's beats are spread out.
          const interval = message.welcome.heartbeat_interval_ms || config.heartbeatMs;
          const beat = (): void => {
            seq += 1;
            stats.sent += 1;
            stream.write(frame({ body: 'heartbeat', heartbeat: { seq, sent_unix_ms: Date.now() } }));
          };
          this.timer = setTimeout(() => {
            beat();
            this.timer = setInterval(beat, interval);
          }, Math.random() * interval);
        } else if (message.body === 'ack') {
          acked = Math.max(acked, message.ack.seq);
          ackedHere += 1;
          stats.acked += 1;
        } else if (message.body === 'revoked') {
          end('revoked');
        }
      }
    });
    stream.write(
      frame({
        body: 'hello',
        hello: {
          name: this.name,
          labels: { swarm: 'bench' },
          version: 'bench',
          host: null,
          heartbeat_interval_ms: config.heartbeatMs,
        },
      }),
    );
  }

  stop(): void {
    clearInterval(this.timer);
    this.session?.destroy();
  }
}

async function main(): Promise<void> {
  const ca = await CertificateAuthority.load(config.caCertPem, config.caKeyPem);
  const executors: SimulatedExecutor[] = [];
  for (let i = config.first; i < config.first + config.count; i++) {
    const leaf = await ca.issue({ commonName: `s${i}`, uris: [`spiffe://${config.trustDomain}/ah/agent/s${i}`] });
    executors.push(new SimulatedExecutor(`s${i}`, leaf.certPem, leaf.keyPem as string));
  }
  process.send?.({ type: 'ready' });
  const report = setInterval(() => process.send?.({ type: 'stats', stats }), 1_000);
  process.on('message', (message: { type: string }) => {
    if (message.type === 'go') for (const e of executors) e.start();
    if (message.type === 'stop') {
      stopping = true;
      clearInterval(report);
      for (const e of executors) e.stop();
      process.send?.({ type: 'stats', stats }, () => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
