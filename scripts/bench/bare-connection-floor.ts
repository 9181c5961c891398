// Baseline for the access point's memory per executor: what Node itself needs to hold one mutual
// TLS connection with one open HTTP/2 stream (the shape of an executor's Connect stream), measured
// on a bare Node server with the same certificates and TLS options. The access point cannot go
// below this without leaving Node's TLS and HTTP/2.

import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import tls from 'node:tls';
import { procStats, sleep, type IdentityFiles } from './access-point-process.js';

/** KiB of server RSS per held connection, over `count` connections. */
export async function bareConnectionFloorKb(
  server: IdentityFiles,
  client: { cert: string; key: string; ca: string },
  count: number,
): Promise<number> {
  const code = `const h2=require('http2'),fs=require('fs'),c=require('crypto').constants;
    const s=h2.createSecureServer({cert:fs.readFileSync(${JSON.stringify(server.cert)}),key:fs.readFileSync(${JSON.stringify(server.key)}),ca:fs.readFileSync(${JSON.stringify(server.ca)}),
      requestCert:true,rejectUnauthorized:true,secureOptions:c.SSL_OP_NO_TICKET|c.SSL_OP_NO_RENEGOTIATION,ALPNProtocols:['h2']});
    s.on('stream',(st)=>{st.respond({':status':200,'content-type':'application/grpc'});st.on('data',()=>{});st.on('error',()=>{});});
    s.on('sessionError',()=>{});
    s.listen(0,'127.0.0.1',()=>process.stdout.write(s.address().port+'\\n'));`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    proc.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  await sleep(500);
  const before = procStats(proc.pid as number).rssBytes;
  const sessions: http2.ClientHttp2Session[] = [];
  // A few at a time, so that the figure is memory held, not handshakes in flight.
  for (let i = 0; i < count; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, count - i) }, async () => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          cert: client.cert,
          key: client.key,
          ca: client.ca,
          servername: 'localhost',
          ALPNProtocols: ['h2'],
        });
        const session = http2.connect(`https://localhost:${port}`, { createConnection: () => socket });
        session.on('error', () => {});
        const stream = session.request({
          ':method': 'POST',
          ':path': '/ah.fleet.v1.Fleet/Connect',
          'content-type': 'application/grpc',
        });
        stream.on('error', () => {});
        stream.write(Buffer.alloc(32));
        await new Promise((r) => stream.once('response', r));
        sessions.push(session);
      }),
    );
  }
  await sleep(2_000);
  const after = procStats(proc.pid as number).rssBytes;
  for (const s of sessions) s.destroy();
  proc.kill();
  return (after - before) / count / 1024;
}
