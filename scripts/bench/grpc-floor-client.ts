// The floor under an idle executor's memory: a process that holds nothing but what the fleet
// protocol needs, one grpc-js Connect stream over mutual TLS that says Hello and heartbeats every
// 5 s, with its messages encoded by hand (no .proto parsing, no logger, no command line, no state
// files). bench:footprint runs it beside the executors: what it holds above a bare Node is the
// cost of grpc-js on Node's TLS and HTTP/2, which no executor can go below while it speaks gRPC.
//
// Usage: node grpc-floor-client.js <port> <ca.pem> <cert.pem> <key.pem>

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

const [port, ca, cert, key] = process.argv.slice(2) as [string, string, string, string];
const same = (b: Buffer): Buffer => b;
const Fleet = grpc.makeGenericClientConstructor(
  {
    Connect: {
      path: '/ah.fleet.v1.Fleet/Connect',
      requestStream: true,
      responseStream: true,
      requestSerialize: same,
      requestDeserialize: same,
      responseSerialize: same,
      responseDeserialize: same,
    },
  },
  'Fleet',
);
const client = new Fleet(
  `127.0.0.1:${port}`,
  grpc.credentials.createSsl(readFileSync(ca), readFileSync(key), readFileSync(cert)),
);
const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<Buffer, Buffer> }).Connect();
let welcomed = false;
call.on('data', () => {
  // The first answer is the Welcome: say so as the executor does, so the benchmark can wait for it.
  if (!welcomed) process.stderr.write('info: enrolled (grpc-js floor)\n');
  welcomed = true;
});
call.on('error', (e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(1);
});
// ExecutorMessage { hello (1) = Hello { name (1) = "floor", version (3) = "0", heartbeat_interval_ms (5) = 5000 } }
call.write(Buffer.from([0x0a, 0x0d, 0x0a, 0x05, ...Buffer.from('floor'), 0x1a, 0x01, 0x30, 0x28, 0x88, 0x27]));
let seq = 1;
// ExecutorMessage { heartbeat (2) = Heartbeat { seq (1) } }, seq kept to one varint byte.
setInterval(() => call.write(Buffer.from([0x12, 0x02, 0x08, seq++ & 0x7f])), 5_000);
