// `ah agent ca init`: a root CA and an intermediate for a trial or a small fleet, so that joining
// with a token needs no PKI made by hand. The root lives ten years and should go offline once the
// intermediate exists; the intermediate (one year) is what the access point holds and is replaced
// under the same root, so executors' pins never change (docs/FLEET-CA.md).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AhError } from '../core/errors.js';
import { forDisplay } from '../core/escape.js';
import { checkTrustedDirectory } from '../core/trusted-directory.js';
import { FleetCa } from '../fleet/fleet-ca.js';
import { CertificateAuthority, withNewline } from '../x509/authority.js';
import { caPin } from '../x509/pin.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import type { CliIo } from './io.js';

export interface CaInitFlags {
  dir: string;
  trustDomain: string;
  force?: boolean;
}

const DAY = 86_400_000;
export const ROOT_TTL_MS = 3650 * DAY;
export const INTERMEDIATE_TTL_MS = 365 * DAY;

/** The files ca init writes, in the order written: keys first, so no certificate exists without its key. */
export const CA_FILES = {
  rootKey: 'root-key.pem',
  intermediateKey: 'intermediate-key.pem',
  root: 'root.pem',
  intermediate: 'intermediate.pem',
  /** The intermediate followed by the root: what --fleet-ca-cert takes. */
  bundle: 'fleet-ca.pem',
} as const;

async function exists(file: string): Promise<boolean> {
  try {
    // lstat: a link (even a dangling one) where a file would go counts as something there.
    await fs.lstat(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export async function runCaInit(flags: CaInitFlags, io: CliIo, clock: Clock = systemClock): Promise<number> {
  const trustDomain = parseSpiffeId(`spiffe://${flags.trustDomain}`).trustDomain;
  if (flags.dir === '') throw new AhError('USAGE', { reason: '--dir must name a directory' });
  await fs.mkdir(flags.dir, { recursive: true, mode: 0o700 });
  // The keys are written here: a directory others can write to would let them swap a key file.
  const dir = await checkTrustedDirectory(flags.dir);
  const file = (name: string): string => path.join(dir, name);
  if (!flags.force) {
    for (const name of Object.values(CA_FILES))
      if (await exists(file(name))) throw new AhError('CA_FILE_EXISTS', { path: file(name) });
  }

  const now = clock.now();
  const trustDomainId = `spiffe://${trustDomain}`;
  const root = await CertificateAuthority.create({
    commonName: `${trustDomain} fleet root CA`,
    ttlMs: ROOT_TTL_MS,
    uris: [trustDomainId],
    now,
  });
  const intermediate = await root.issue({
    commonName: `${trustDomain} fleet intermediate CA`,
    isCa: true,
    ttlMs: INTERMEDIATE_TTL_MS,
    uris: [trustDomainId],
    // Even a leaked intermediate key cannot sign (for OpenSSL peers) an ID of another trust domain.
    permittedUriHosts: [trustDomain],
    now,
  });
  const intermediateKey = intermediate.keyPem as string;
  const bundle = withNewline(intermediate.certPem) + withNewline(root.certPem);
  // What the access point will load must load: the same checks, before anything is written.
  const fleetCa = await FleetCa.fromPem(
    bundle,
    intermediateKey,
    { certPath: file(CA_FILES.bundle), keyPath: file(CA_FILES.intermediateKey) },
    clock,
  );

  // writeFileAtomic renames a new file into place: a link planted at a target is replaced, never followed.
  await writeFileAtomic(file(CA_FILES.rootKey), root.keyPem, { mode: 0o600 });
  await writeFileAtomic(file(CA_FILES.intermediateKey), intermediateKey, { mode: 0o600 });
  await writeFileAtomic(file(CA_FILES.root), withNewline(root.certPem), { mode: 0o644 });
  await writeFileAtomic(file(CA_FILES.intermediate), withNewline(intermediate.certPem), { mode: 0o644 });
  await writeFileAtomic(file(CA_FILES.bundle), bundle, { mode: 0o644 });

  const shown = (name: string): string => forDisplay(file(name));
  const until = (ms: number): string => new Date(ms).toISOString();
  io.out(
    [
      `fleet CA for trust domain ${trustDomain} written to ${forDisplay(dir)}`,
      `  ${CA_FILES.root}              root CA certificate, valid until ${until(Date.parse(root.certificate.validTo))}`,
      `  ${CA_FILES.rootKey}          root CA key (0600): only needed to make the next intermediate`,
      `  ${CA_FILES.intermediate}      intermediate CA certificate, valid until ${until(fleetCa.notAfter)}`,
      `  ${CA_FILES.intermediateKey}  intermediate CA key (0600): the access point signs with it`,
      `  ${CA_FILES.bundle}          intermediate then root: what --fleet-ca-cert takes`,
      `root CA pin: ${caPin(root.certPem)}`,
      '',
      'next:',
      `  ah agent access-point --fleet-ca-cert ${shown(CA_FILES.bundle)} --fleet-ca-key ${shown(CA_FILES.intermediateKey)} ...`,
      `  move ${shown(CA_FILES.rootKey)} offline (it is not needed to run the fleet, only to replace the intermediate)`,
      '  executors join with the root CA pin above: --ca-pin <pin>',
    ].join('\n'),
  );
  return 0;
}
