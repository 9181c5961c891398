// `ah agent state import`: a single access point's file store (registry.json and revocations.json
// in its state directory) copied into a fleet's etcd, so that the move to several access points
// keeps the registry and every revocation. This module holds the reading, the plan and its
// writes; the command (cli/state-import-command.ts) takes the state directory's lock and prints.
//
// The rules (docs/ETCD.md, "Moving a single access point to etcd"):
// - etcd wins. An executor record already in etcd is kept as it is (reported as skipped); every
//   other one is created only if its key still does not exist when the write lands (Version == 0),
//   so a record that an access point on etcd writes meanwhile is never overwritten.
// - Revocations are a union: one already in etcd is kept, the file's others are added (same guard).
// - Imported records are offline: presence is not imported (no connection survives the move).
// - Revocations are written first: an import cut short leaves no executor record in etcd whose
//   revocation is missing there.
// - Keys, values and the prefix are the etcd store's own (etcd-store.ts, etcd-executor-writes.ts).

import type { IKeyValue, Namespace } from 'etcd3';
import path from 'node:path';
import { EtcdPermissionDeniedError } from 'etcd3';
import { boundLength } from '../../core/escape.js';
import { AhError, errorText, isAhError } from '../../core/errors.js';
import { readFileNoFollowIfExists } from '../../core/no-follow.js';
import { asOffline, type ExecutorRecord } from '../registry.js';
import type { Revocation } from '../revocations.js';
import { EXECUTORS_DIR, recordValue } from './etcd-executor-writes.js';
import { idOfKey, keyOf, listAll, storeReadError } from './etcd-mirror.js';
import { REVOCATIONS_DIR, revocationOf, revocationValue } from './etcd-store.js';
import { parseRegistry, parseRevocations, REGISTRY_FILE, REVOCATIONS_FILE } from './file-store.js';

/**
 * Keys per transaction: etcd refuses more than 128 operations in one (--max-txn-ops), and each
 * key here costs one compare and one put. Half of that leaves room whatever etcd was given.
 */
export const MAX_TXN_KEYS = 64;
/** Bytes per transaction, far under etcd's 1.5 MiB request limit (--max-request-bytes). */
export const MAX_TXN_BYTES = 1024 * 1024;
/** Counted per key on top of key and value: the prefix (at most 128) and the request's framing. */
const PER_KEY_OVERHEAD = 256;
/** A transaction refused because keys appeared meanwhile is tried again this often, without them. */
const MAX_TRIES = 5;

/** Why a record written here is offline: shown in listings as its disconnect reason. */
export const IMPORT_REASON = 'state imported to etcd';

/** What the state directory holds, read strictly: a file that does not parse is an error. */
export interface FileState {
  registryFile: string;
  revocationsFile: string;
  executors: ExecutorRecord[];
  revocations: Revocation[];
}

/** The IDs etcd holds under the fleet's prefix (keys only: etcd wins whatever its values say). */
export interface EtcdState {
  executors: Set<string>;
  revocations: Set<string>;
}

/** One key to create: its etcd key (inside the namespace) and value. */
export interface ImportWrite {
  id: string;
  key: string;
  value: string;
}

export interface ImportPlan {
  /** Records to create, and the IDs already in etcd (kept as they are). */
  executors: { create: ImportWrite[]; skipped: string[] };
  /** Revocations to add, and the IDs already revoked in etcd. */
  revocations: { add: ImportWrite[]; present: string[] };
}

export interface ImportResult {
  /** IDs written. */
  created: string[];
  /** IDs kept as etcd had them: in the plan, and those written by someone else meanwhile. */
  skipped: string[];
  added: string[];
  present: string[];
  transactions: number;
}

/** Reads one state file: not through a link, not a FIFO; undefined when there is none. */
async function readStateFile<T>(file: string, parse: (text: string) => T[]): Promise<T[] | undefined> {
  let text: string | undefined;
  try {
    text = await readFileNoFollowIfExists(file);
  } catch (e) {
    if (isAhError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === 'EACCES')
      throw new AhError('FILE_PERMISSION_DENIED', { path: file }, { cause: e });
    throw new AhError('STATE_FILE_UNREADABLE', { path: file, reason: errorText(e) }, { cause: e });
  }
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (e) {
    throw new AhError('STATE_FILE_UNREADABLE', { path: file, reason: errorText(e) }, { cause: e });
  }
}

/**
 * The file store of `stateDir` (its real path, already checked), with the store's own parsers. A
 * torn file is an error here, not put aside as the access point does: nothing may be lost on the way.
 */
export async function readFileState(stateDir: string): Promise<FileState> {
  const registryFile = path.join(stateDir, REGISTRY_FILE);
  const revocationsFile = path.join(stateDir, REVOCATIONS_FILE);
  const executors = await readStateFile(registryFile, parseRegistry);
  const revocations = await readStateFile(revocationsFile, parseRevocations);
  if (executors === undefined && revocations === undefined)
    throw new AhError(
      'NOT_ENROLLED',
      { dir: stateDir },
      { hint: `pass the access point's --state-dir: the one that holds ${REGISTRY_FILE} or ${REVOCATIONS_FILE}` },
    );
  // One record per ID, the last as the store keeps it.
  const byId = new Map((executors ?? []).map((r) => [r.id, r]));
  return { registryFile, revocationsFile, executors: [...byId.values()], revocations: revocations ?? [] };
}

const idsIn = (kvs: IKeyValue[], dir: string): Set<string> =>
  new Set(kvs.map((kv) => idOfKey(kv.key, dir)).filter((id): id is string => id !== undefined));

/** The executor and revocation IDs in etcd; `where` names endpoints and prefix in errors. */
export async function readEtcdState(ns: Namespace, where: string): Promise<EtcdState> {
  try {
    const [executors, revocations] = await Promise.all([listAll(ns, EXECUTORS_DIR), listAll(ns, REVOCATIONS_DIR)]);
    return { executors: idsIn(executors.kvs, EXECUTORS_DIR), revocations: idsIn(revocations.kvs, REVOCATIONS_DIR) };
  } catch (e) {
    throw storeReadError(e, where);
  }
}

/** What one key costs in a transaction (compare and put both carry the key). */
export const writeBytes = (w: ImportWrite): number =>
  2 * Buffer.byteLength(w.key) + Buffer.byteLength(w.value) + PER_KEY_OVERHEAD;

/** The write of one entry, or an error naming the file: an ID etcd cannot hold aborts before any write. */
function writeOf(dir: string, id: string, value: string, file: string): ImportWrite {
  let key: string;
  try {
    key = keyOf(dir, id);
  } catch {
    // encodeURIComponent refuses a lone surrogate: such an ID was never a SPIFFE ID.
    throw new AhError('STATE_FILE_UNREADABLE', {
      path: file,
      reason: `the id ${boundLength(id, 200)} is not valid text`,
    });
  }
  const write = { id, key, value };
  if (writeBytes(write) > MAX_TXN_BYTES)
    throw new AhError('STATE_FILE_UNREADABLE', {
      path: file,
      reason: `the entry of ${boundLength(id, 200)} is larger than etcd takes in one request`,
    });
  return write;
}

/**
 * What the import does, from what the files and etcd hold: pure, so that a dry run prints exactly
 * what a real run writes (unless etcd changes in between; the writes are guarded for that).
 * `now` (ISO time) is when records that still said online are marked offline.
 */
export function planImport(file: FileState, etcd: EtcdState, now: string): ImportPlan {
  const plan: ImportPlan = { executors: { create: [], skipped: [] }, revocations: { add: [], present: [] } };
  for (const r of file.revocations) {
    if (etcd.revocations.has(r.id)) plan.revocations.present.push(r.id);
    // Bounded as the etcd store bounds what it reads back: nothing kept is cut off later.
    else
      plan.revocations.add.push(
        writeOf(REVOCATIONS_DIR, r.id, revocationValue(revocationOf(r.id, r)), file.revocationsFile),
      );
  }
  for (const r of file.executors) {
    if (etcd.executors.has(r.id)) plan.executors.skipped.push(r.id);
    else
      plan.executors.create.push(
        writeOf(EXECUTORS_DIR, r.id, recordValue(asOffline(r, now, IMPORT_REASON)), file.registryFile),
      );
  }
  return plan;
}

/** Writes cut into transactions of at most `maxKeys` keys and `maxBytes` bytes, in order. */
export function batchesOf(writes: ImportWrite[], maxKeys = MAX_TXN_KEYS, maxBytes = MAX_TXN_BYTES): ImportWrite[][] {
  const batches: ImportWrite[][] = [];
  let current: ImportWrite[] = [];
  let bytes = 0;
  for (const w of writes) {
    const size = writeBytes(w);
    if (current.length > 0 && (current.length >= maxKeys || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(w);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** A failed write, for the operator: what landed stays, and a new run adds the rest. */
function writeError(e: unknown, where: string): AhError {
  if (e instanceof EtcdPermissionDeniedError)
    return new AhError('STORE_PERMISSION_DENIED', { store: where }, { cause: e, detail: errorText(e) });
  return new AhError(
    'STORE_WRITE_FAILED',
    { store: where, reason: errorText(e) },
    {
      cause: e,
      hint: 'what was written stays; run the import again once etcd answers (it adds only what is missing): etcdctl --endpoints <--etcd-endpoints> endpoint health',
    },
  );
}

/**
 * Creates each key of `batch` in one transaction, each only if it does not exist yet. If one
 * appeared since the listing (an access point on etcd wrote it), etcd's stands: the transaction
 * is tried again without it. Returns the IDs written and those found taken.
 */
async function createAll(
  ns: Namespace,
  batch: ImportWrite[],
  count: () => void,
): Promise<{ written: ImportWrite[]; taken: ImportWrite[] }> {
  const taken: ImportWrite[] = [];
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const [first, ...rest] = pending as [ImportWrite, ...ImportWrite[]];
    let txn = ns.if(first.key, 'Version', '==', 0);
    for (const w of rest) txn = txn.and(w.key, 'Version', '==', 0);
    const result = await txn.then(...pending.map((w) => ns.put(w.key).value(w.value))).commit();
    count();
    if (result.succeeded) return { written: pending, taken };
    const exists = await Promise.all(pending.map((w) => ns.get(w.key).exists()));
    taken.push(...pending.filter((_, i) => exists[i]));
    pending = pending.filter((_, i) => !exists[i]);
    // Keys that come and go under us faster than we can write: give up rather than loop.
    if (attempt >= MAX_TRIES && pending.length > 0) throw new Error('keys keep changing under the import');
  }
  return { written: [], taken };
}

/** Applies the plan: revocations first, then records, in bounded guarded transactions. */
export async function applyImport(ns: Namespace, plan: ImportPlan, where: string): Promise<ImportResult> {
  const result: ImportResult = {
    created: [],
    skipped: [...plan.executors.skipped],
    added: [],
    present: [...plan.revocations.present],
    transactions: 0,
  };
  const count = (): void => void result.transactions++;
  try {
    for (const batch of batchesOf(plan.revocations.add)) {
      const { written, taken } = await createAll(ns, batch, count);
      result.added.push(...written.map((w) => w.id));
      result.present.push(...taken.map((w) => w.id));
    }
    for (const batch of batchesOf(plan.executors.create)) {
      const { written, taken } = await createAll(ns, batch, count);
      result.created.push(...written.map((w) => w.id));
      result.skipped.push(...taken.map((w) => w.id));
    }
  } catch (e) {
    throw writeError(e, where);
  }
  return result;
}
