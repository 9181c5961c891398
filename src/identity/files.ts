// The files provider's reading and validation: PEM certificate chain, private key and CA bundle
// from disk, as written by an operator's own CA, cert-manager or a renewal cron.

import { createHash } from 'node:crypto';
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

/** The raw bytes of the three files and a hash of them, to tell whether anything changed. */
export interface FilesSnapshot {
  hash: string;
  cert: Buffer;
  key: Buffer;
  ca: Buffer[];
}

export async function readFilesSnapshot(paths: FilesPaths): Promise<FilesSnapshot> {
  if (paths.ca.length === 0) throw new AhError('USAGE', { reason: '--identity files needs --ca' });
  const [cert, key, ...ca] = await Promise.all([
    readIdentityFile(paths.cert),
    readIdentityFile(paths.key, 'key'),
    ...paths.ca.map((p) => readIdentityFile(p)),
  ]);
  const hash = createHash('sha256');
  for (const part of [cert, key, ...ca]) hash.update(part).update('\0');
  return { hash: hash.digest('hex'), cert: cert, key: key, ca: ca };
}

/** Parses and validates a snapshot; any problem throws the guide's error for it. */
export function identityFromSnapshot(paths: FilesPaths, s: FilesSnapshot, now: number): Identity {
  return buildIdentity(
    {
      provider: 'files',
      chain: parseCertificates(s.cert, paths.cert),
      key: parsePrivateKey(s.key, paths.key),
      bundle: s.ca.flatMap((bytes, i) => parseCertificates(bytes, paths.ca[i] as string)),
      bundleSource: paths.ca.join(', '),
    },
    now,
  );
}

/** Reads and validates the three files once. */
export async function loadFilesIdentity(paths: FilesPaths, now: number): Promise<Identity> {
  return identityFromSnapshot(paths, await readFilesSnapshot(paths), now);
}
