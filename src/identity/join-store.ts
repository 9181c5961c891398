// Where a joined executor keeps its identity (docs/JOIN.md, "Life after the join"):
// <state-dir>/join/ (0700) holding
//   identity.pem  the private key followed by the certificate chain, mode 0600
//   bundle.pem    the CAs it trusts for the access point
//   join.json     where the identity came from: access point, pins, when it joined and renewed
// Key and chain share one file on purpose: each write of it is atomic (temp file, fsync, rename;
// core/atomic-file.ts), so a crash in the middle of a renewal leaves either the old pair or the
// new pair, never a new key beside an old certificate. Files are read without following links
// (core/no-follow.ts). Nothing here is ever deleted: an expired identity stays for the operator
// to look at, and a re-join moves the old pair aside.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic-file.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import { readFileNoFollow } from '../core/no-follow.js';
import { validity } from '../x509/certificate.js';
import { createCsr, generateKeyPair } from '../x509/keys.js';
import { parseCertificates, parsePrivateKey, pemBlocks } from '../x509/pem.js';
import { buildIdentity, type Identity } from './identity.js';

export const JOIN_DIR = 'join';
export const IDENTITY_FILE = 'identity.pem';
export const BUNDLE_FILE = 'bundle.pem';
export const RECORD_FILE = 'join.json';

/** join.json: facts for status and for the operator, never a secret (no token, no key). */
export interface JoinRecord {
  spiffe_id: string;
  /** The --remote-server the executor joined through (https://host:port). */
  access_point: string;
  /** The id of the access point that issued the current certificate. */
  access_point_id: string;
  /** The --ca-pin values the access point's chain was checked against. */
  pins: string[];
  joined_at: string;
  renewed_at: string | null;
}

export interface StoredJoin {
  identity: Identity;
  record: JoinRecord;
}

const KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

export const joinDir = (stateDir: string): string => path.join(stateDir, JOIN_DIR);

/** Whether <state-dir>/join/ exists (as a directory, not a link): the join provider is then the default. */
export async function hasJoinState(stateDir: string): Promise<boolean> {
  try {
    return (await fs.lstat(joinDir(stateDir))).isDirectory();
  } catch {
    return false;
  }
}

/** A fresh ECDSA P-256 key and a CSR for it; the key never leaves this host. */
export async function newKeyAndCsr(commonName: string): Promise<{ keyPem: string; csrPem: string }> {
  const pair = await generateKeyPair();
  // The access point reads only the key from a CSR (docs/FLEET-CA.md); the name is for people.
  return { keyPem: pair.privateKeyPem, csrPem: await createCsr(pair.keys, { commonName }) };
}

const invalid = (dir: string, reason: string, cause?: unknown): AhError =>
  new AhError('JOIN_STATE_INVALID', { dir, reason }, cause === undefined ? {} : { cause });

/**
 * Builds and checks an identity from the PEM parts (key matches, chain verifies against the
 * bundle, strong enough), as issued or as stored. `now` judges validity; throws the usual
 * identity errors.
 */
export function joinIdentity(
  keyPem: string,
  chainPem: string,
  bundlePem: string,
  now: number,
  source: string,
): Identity {
  return buildIdentity(
    {
      provider: 'join',
      chain: parseCertificates(chainPem, source),
      key: parsePrivateKey(keyPem, source),
      bundle: parseCertificates(bundlePem, `${source} bundle`),
      bundleSource: `${source} bundle`,
    },
    now,
  );
}

function parseRecord(text: string, dir: string): JoinRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw invalid(dir, `${RECORD_FILE} is not JSON`, e);
  }
  const r = value as Partial<Record<keyof JoinRecord, unknown>>;
  const str = (v: unknown): v is string => typeof v === 'string' && v.length <= 2048;
  if (
    typeof value !== 'object' ||
    value === null ||
    !str(r.spiffe_id) ||
    !str(r.access_point) ||
    !str(r.access_point_id) ||
    !Array.isArray(r.pins) ||
    !r.pins.every(str) ||
    !str(r.joined_at) ||
    !(r.renewed_at === null || str(r.renewed_at))
  )
    throw invalid(dir, `${RECORD_FILE} is missing fields or has fields of the wrong kind`);
  return {
    spiffe_id: r.spiffe_id,
    access_point: r.access_point,
    access_point_id: r.access_point_id,
    pins: r.pins,
    joined_at: r.joined_at,
    renewed_at: r.renewed_at,
  };
}

async function readIn(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFileNoFollow(path.join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !isAhError(e)) return undefined;
    throw invalid(dir, `${name}: ${isAhError(e) ? e.message : errorText(e)}`, e);
  }
}

/**
 * The stored identity, or undefined when nothing was ever joined here (no join/ directory or no
 * identity file in it). An expired one is JOIN_IDENTITY_EXPIRED, anything unreadable or
 * inconsistent JOIN_STATE_INVALID; either way the files are left exactly as they are.
 */
export async function loadJoinState(stateDir: string, now: number): Promise<StoredJoin | undefined> {
  const dir = joinDir(stateDir);
  if (!(await hasJoinState(stateDir))) return undefined;
  const identityText = await readIn(dir, IDENTITY_FILE);
  if (identityText === undefined) return undefined;
  const mode = (await fs.lstat(path.join(dir, IDENTITY_FILE))).mode & 0o777;
  if (mode & 0o077)
    throw invalid(dir, `${IDENTITY_FILE} has mode ${mode.toString(8).padStart(4, '0')}: its key must be 0600`);
  const bundleText = await readIn(dir, BUNDLE_FILE);
  const recordText = await readIn(dir, RECORD_FILE);
  if (bundleText === undefined) throw invalid(dir, `${BUNDLE_FILE} is missing`);
  if (recordText === undefined) throw invalid(dir, `${RECORD_FILE} is missing`);
  const record = parseRecord(recordText, dir);
  const source = path.join(dir, IDENTITY_FILE);
  const keyBlocks = pemBlocks(identityText).filter((b) => b.label.endsWith('PRIVATE KEY'));
  const keyPem = KEY_BLOCK.exec(identityText)?.[0];
  if (keyBlocks.length !== 1 || keyPem === undefined)
    throw invalid(dir, `${IDENTITY_FILE} must hold one private key and the chain`);
  let leafNotAfter: number;
  try {
    const chain = parseCertificates(identityText, source);
    leafNotAfter = validity(chain[0] as (typeof chain)[number]).notAfter;
  } catch (e) {
    throw invalid(dir, isAhError(e) ? e.message : errorText(e), e);
  }
  // Expiry first and on its own: it is the one failure with its own remedy (a new token).
  if (!(leafNotAfter > now))
    throw new AhError('JOIN_IDENTITY_EXPIRED', { not_after: new Date(leafNotAfter).toISOString(), dir });
  let identity: Identity;
  try {
    identity = joinIdentity(keyPem, identityText, bundleText, now, source);
  } catch (e) {
    throw invalid(dir, isAhError(e) ? `${e.message}${e.detail ? ` (${e.detail})` : ''}` : errorText(e), e);
  }
  if (identity.spiffeId !== record.spiffe_id)
    throw invalid(
      dir,
      `the certificate names ${identity.spiffeId ?? 'no SPIFFE ID'} but ${RECORD_FILE} says ${record.spiffe_id}`,
    );
  return { identity, record };
}

/** Creates <state-dir>/join/ (0700) if needed; refuses a link or a file in its place. */
async function ensureDir(stateDir: string): Promise<string> {
  const dir = joinDir(stateDir);
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const stat = await fs.lstat(dir);
  if (!stat.isDirectory())
    throw new AhError('UNSAFE_FILE', {
      path: dir,
      reason: stat.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a directory',
    });
  return dir;
}

export interface JoinStateWrite {
  keyPem: string;
  chainPem: string;
  bundlePem: string;
  record: JoinRecord;
}

const withNewline = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/**
 * Writes a new identity: the bundle first (a new bundle still verifies the old chain, as a CA
 * roll adds before it removes), then key and chain in one atomic write, then the record. Each
 * write replaces a link in its place rather than following it (rename does not follow).
 */
export async function saveJoinState(stateDir: string, state: JoinStateWrite): Promise<void> {
  const dir = await ensureDir(stateDir);
  await writeFileAtomic(path.join(dir, BUNDLE_FILE), withNewline(state.bundlePem), { mode: 0o644 });
  await writeFileAtomic(path.join(dir, IDENTITY_FILE), withNewline(state.keyPem) + withNewline(state.chainPem), {
    mode: 0o600,
  });
  await writeJsonAtomic(path.join(dir, RECORD_FILE), state.record, { mode: 0o644 });
}

/**
 * Before a re-join replaces an expired identity: its files are moved aside (never deleted), as
 * <name>.expired-<ms>, so the operator can still see what it was.
 */
export async function setAsideJoinState(stateDir: string, now: number): Promise<void> {
  const dir = joinDir(stateDir);
  for (const name of [IDENTITY_FILE, BUNDLE_FILE, RECORD_FILE]) {
    try {
      await fs.rename(path.join(dir, name), path.join(dir, `${name}.expired-${now}`));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
