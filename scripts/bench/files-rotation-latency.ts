// Benchmark (not a test): time from "new certificate files renamed into place" to "the access
// point serves the new certificate to a new handshake", over N rotations on this machine.
// Baselines measured in the same run:
//   - inotify: how long the kernel + fs.watch take to report the same rename (the floor for any watcher)
//   - probe:   one TLS handshake to the access point (the cost of asking "which certificate now?")
// Usage: npm run build && node dist/scripts/bench/files-rotation-latency.js [rotations=30]

import { watch, promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import { FilesIdentitySource } from '../../src/identity/files-source.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';

const rotations = Number(process.argv[2] ?? 30);
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-rotation-'));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const ca = await CertificateAuthority.create({ commonName: 'bench CA', ttlMs: 86_400_000 });
  const server = async (): Promise<{ cert: string; key: string; serial: string }> => {
    const issued = await ca.issue({
      commonName: 'access-point',
      uris: ['spiffe://example.org/ah/serve'],
      dns: ['localhost'],
      ips: ['127.0.0.1'],
    });
    return { cert: issued.certPem, key: issued.keyPem as string, serial: issued.cert.serialNumber.toUpperCase() };
  };
  const client = await ca.issue({ commonName: 'probe', uris: ['spiffe://example.org/ah/agent/probe'] });
  const paths = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), ca: path.join(dir, 'ca.pem') };
  const first = await server();
  await fs.writeFile(paths.cert, first.cert);
  await fs.writeFile(paths.key, first.key, { mode: 0o600 });
  await fs.writeFile(paths.ca, ca.certPem);
  const source = await FilesIdentitySource.start({
    paths: { cert: paths.cert, key: paths.key, ca: [paths.ca] },
    clock: systemClock,
    logger: silentLogger,
    policy: DEFAULT_RENEWAL_POLICY,
  });
  const ap = new AccessPoint({
    host: '127.0.0.1',
    port: 0,
    identitySource: source,
    stateDir: path.join(dir, 'state'),
    store: openFileStore(path.join(dir, 'state'), systemClock, silentLogger),
    policy: DEFAULT_HEARTBEAT_POLICY,
    clock: systemClock,
    logger: silentLogger,
  });
  const { port } = await ap.start();
  const probe = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: ca.certPem,
          cert: client.certPem,
          key: client.keyPem,
          ALPNProtocols: ['h2'],
        },
        () => {
          const serial = s.getPeerX509Certificate()?.serialNumber.toUpperCase() ?? '';
          s.destroy();
          resolve(serial);
        },
      );
      s.once('error', reject);
    });

  // A plain fs.watch on the same directory, to time the kernel's own report of each rename.
  let lastEventAt = 0;
  const baselineWatcher = watch(dir, () => {
    if (!lastEventAt) lastEventAt = performance.now();
  });

  const rotation: number[] = [];
  const inotify: number[] = [];
  const probeCost: number[] = [];
  for (let i = 0; i < rotations; i++) {
    const next = await server();
    await fs.writeFile(`${paths.key}.tmp`, next.key, { mode: 0o600 });
    await fs.writeFile(`${paths.cert}.tmp`, next.cert);
    lastEventAt = 0;
    const t0 = performance.now();
    await fs.rename(`${paths.key}.tmp`, paths.key);
    await fs.rename(`${paths.cert}.tmp`, paths.cert);
    for (;;) {
      const p0 = performance.now();
      const served = await probe();
      probeCost.push(performance.now() - p0);
      if (served === next.serial) break;
      if (performance.now() - t0 > 5_000) throw new Error(`rotation ${i} not served after 5 s`);
    }
    rotation.push(performance.now() - t0);
    if (lastEventAt) inotify.push(lastEventAt - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  baselineWatcher.close();
  await ap.stop();
  await source.close();

  const row = (name: string, v: number[]): string =>
    `${name.padEnd(34)} n=${String(v.length).padStart(3)}  p50=${percentile(v, 50).toFixed(1).padStart(7)} ms  p95=${percentile(v, 95).toFixed(1).padStart(7)} ms  max=${Math.max(
      ...v,
    )
      .toFixed(1)
      .padStart(7)} ms`;
  console.log(`files rotation latency, ${rotations} rotations, node ${process.version}, ${os.cpus().length} cores`);
  console.log(row('file renamed -> new cert served', rotation));
  console.log(row('baseline: fs.watch event', inotify));
  console.log(row('baseline: one TLS handshake probe', probeCost));
  const p50 = percentile(rotation, 50);
  console.log(`ratio p50 rotation / p50 probe handshake: ${(p50 / percentile(probeCost, 50)).toFixed(1)}x`);
  console.log(
    `ratio p50 rotation / p50 fs.watch:        ${(p50 / Math.max(0.01, percentile(inotify, 50))).toFixed(0)}x`,
  );
  console.log('(the settle budget is 100 ms debounce + 50 ms awaitWriteFinish stability, by design)');
  console.log(
    JSON.stringify({
      rotations,
      rotationP50: p50,
      rotationP95: percentile(rotation, 95),
      inotifyP50: percentile(inotify, 50),
      probeP50: percentile(probeCost, 50),
    }),
  );
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
