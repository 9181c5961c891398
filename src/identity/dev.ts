// The dev identity: a per-user self-signed CA that issues short-lived leaf certificates, so that an
// access point and executors run by one user on one machine trust each other with no flags.
// For one-machine trials only: anyone who can read the user's CA key can mint identities.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AhError, errorText, isAhError } from '../core/errors.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { readFileNoFollow } from '../core/no-follow.js';
import { checkTrustedDirectory } from '../core/trusted-directory.js';
import { CertificateAuthority } from '../x509/authority.js';
import { parseCertificates, parsePrivateKey } from '../x509/pem.js';
import { validity } from '../x509/certificate.js';
import { buildIdentity, type Identity } from './identity.js';

export { DEV_EXECUTOR_PREFIX, DEV_SERVER_ID, DEV_TRUST_DOMAIN, devExecutorId } from './dev-names.js';

const CA_TTL_MS = 365 * 86_400_000;
/** Replace the dev CA this long before it expires, so leaves never outlive their issuer. */
const CA_RENEW_BEFORE_MS = 30 * 86_400_000;
/** Dev leaves live an hour and renew at the threshold, so rotation is exercised all the time. */
export const DEFAULT_DEV_CERT_TTL_MS = 3_600_000;

async function readCa(dir: string): Promise<CertificateAuthority | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFileNoFollow(path.join(dir, 'ca.pem')),
      readFileNoFollow(path.join(dir, 'ca-key.pem')),
    ]);
    return await CertificateAuthority.load(certPem, keyPem);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (isAhError(e)) throw e;
    throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: `dev CA unreadable: ${errorText(e)}` }, { cause: e });
  }
}

function caIsFresh(ca: CertificateAuthority, now: number): boolean {
  return validity(ca.certificate).notAfter - CA_RENEW_BEFORE_MS > now;
}

/**
 * Loads the per-user dev CA from `dir`, creating it on first use. Concurrent first runs are safe:
 * each writes a complete CA into its own temp directory and renames it into place; a loser of
 * that race reads the winner's CA.
 */
export async function loadOrCreateDevCa(dir: string, now: number): Promise<CertificateAuthority> {
  // Whoever can write the CA's directory can mint fleet identities or read the key: it must be ours alone.
  const exists = await fs.stat(dir).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
  if (exists) dir = await checkTrustedDirectory(dir);
  const existing = await readCa(dir);
  if (existing && caIsFresh(existing, now)) return existing;
  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true, mode: 0o700 });
  const temp = path.join(parent, `.${path.basename(dir)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await fs.mkdir(temp, { mode: 0o700 });
  const ca = await CertificateAuthority.create({ commonName: 'ah insecure dev CA', ttlMs: CA_TTL_MS, now });
  await writeFileAtomic(path.join(temp, 'ca-key.pem'), ca.keyPem, { mode: 0o600 });
  await writeFileAtomic(path.join(temp, 'ca.pem'), ca.certPem, { mode: 0o644 });
  if (existing) {
    // Expiring CA: move it aside first so the rename below can take its place.
    await fs.rename(dir, `${dir}.expired-${now}`).catch(() => undefined);
  }
  try {
    await fs.rename(temp, dir);
    await checkTrustedDirectory(dir);
    return ca;
  } catch (e) {
    await fs.rm(temp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    const winner = await readCa(dir);
    if (!winner) throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: 'dev CA vanished while being created' });
    return winner;
  }
}

export interface DevIdentityOptions {
  ca: CertificateAuthority;
  spiffeId: string;
  commonName: string;
  /** DNS names and IP addresses for hostname verification by non-SPIFFE peers (openssl s_client). */
  dns?: string[];
  ips?: string[];
  ttlMs?: number;
  /** Further trust anchors from --ca. */
  extraBundlePem?: string;
  now: number;
}

/** Issues a fresh leaf from the dev CA and assembles it into a validated Identity. */
export async function issueDevIdentity(options: DevIdentityOptions): Promise<Identity> {
  const ttlMs = options.ttlMs ?? DEFAULT_DEV_CERT_TTL_MS;
  const issued = await options.ca.issue({
    commonName: options.commonName,
    uris: [options.spiffeId],
    dns: options.dns ?? [],
    ips: options.ips ?? [],
    ttlMs,
    // Backdated for clock skew, but by at most a tenth of the lifetime: the renewal point is a
    // fraction of notBefore..notAfter, and 30 s of backdating on a 10 s certificate would put it
    // in the past at issuance (renewed at once, then only at expiry).
    notBefore: new Date(options.now - Math.min(30_000, ttlMs / 10)),
    now: options.now,
  });
  const bundle = [
    ...parseCertificates(options.ca.certPem, 'dev CA'),
    ...(options.extraBundlePem ? parseCertificates(options.extraBundlePem, '--ca') : []),
  ];
  return buildIdentity(
    {
      provider: 'dev',
      chain: [issued.cert],
      key: parsePrivateKey(issued.keyPem as string, 'dev key'),
      bundle,
      bundleSource: 'dev CA',
    },
    options.now,
  );
}
