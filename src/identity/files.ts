// The files provider: PEM certificate chain, private key and CA bundle from disk, as written by
// an operator's own CA, cert-manager or a renewal cron.

import { AhError } from '../core/errors.js';
import { parseCertificates, parsePrivateKey } from '../x509/pem.js';
import { buildIdentity, type Identity } from './identity.js';
import { readIdentityFile } from './read-file.js';

export interface FilesPaths {
  cert: string;
  key: string;
  /** One or more CA bundle files; their certificates are all trusted. */
  ca: string[];
}

/** Reads and validates the three files; any problem throws the guide's error for it. */
export async function loadFilesIdentity(paths: FilesPaths, now: number): Promise<Identity> {
  if (paths.ca.length === 0) throw new AhError('USAGE', { reason: '--identity files needs --ca' });
  const [certBytes, keyBytes, ...caBytes] = await Promise.all([
    readIdentityFile(paths.cert),
    readIdentityFile(paths.key, 'key'),
    ...paths.ca.map((p) => readIdentityFile(p)),
  ]);
  const chain = parseCertificates(certBytes as Buffer, paths.cert);
  const key = parsePrivateKey(keyBytes as Buffer, paths.key);
  const bundle = caBytes.flatMap((bytes, i) => parseCertificates(bytes, paths.ca[i] as string));
  return buildIdentity({ provider: 'files', chain, key, bundle, bundleSource: paths.ca.join(', ') }, now);
}

/** Reads extra trust anchors (e.g. `--ca` next to the dev identity). */
export async function loadBundle(paths: readonly string[]): Promise<ReturnType<typeof parseCertificates>> {
  const all = await Promise.all(paths.map(async (p) => parseCertificates(await readIdentityFile(p), p)));
  return all.flat();
}
