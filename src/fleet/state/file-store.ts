// The file store: one access point's state in its state directory, as it always was
// (registry.json, revocations.json, audit.log and audit-head.json; tokens.json, file-tokens.ts). Moved here from the domain
// classes so that the access point itself no longer knows about files.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../core/atomic-file.js';
import type { Clock } from '../../core/clock.js';
import { CoalescedJsonWriter } from '../../core/coalesced-writer.js';
import { errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { readFileNoFollow } from '../../core/no-follow.js';
import { AuditLog } from '../audit-log.js';
import type { AuditHeadStore } from '../audit-head.js';
import { recordFromFile, type ExecutorRecord } from '../registry.js';
import type { Revocation } from '../revocations.js';
import { FileTokenStore } from './file-tokens.js';
import type { ExecutorStore, FleetStore, Holder, PresenceStore, RevocationStore } from './ports.js';

export const REGISTRY_FILE = 'registry.json';
export const REVOCATIONS_FILE = 'revocations.json';

/**
 * registry.json is rewritten at most this often: a burst of changes (a reconnect storm) is
 * batched, a single change is written at once. A crash loses at most this much presence history;
 * the executors themselves re-enroll.
 */
const REGISTRY_WRITE_INTERVAL_MS = 1_000;

interface RegistryFile {
  version: 1;
  executors: ExecutorRecord[];
}

/**
 * The executor records of a registry.json. Throws on a torn or hand-broken file (not JSON, no
 * `executors` list, a record without an id): the whole file is read first, so a file that breaks
 * half-way never yields half a fleet. Shared by the store and `ah agent state import`.
 */
export function parseRegistry(text: string): ExecutorRecord[] {
  const parsed = JSON.parse(text) as Partial<RegistryFile> | null;
  const executors: unknown = parsed?.executors;
  if (!Array.isArray(executors)) throw new Error('no "executors" list');
  return executors.map((raw, i) => {
    try {
      return recordFromFile(raw);
    } catch (e) {
      throw new Error(`entry ${i}: ${errorText(e)}`, { cause: e });
    }
  });
}

/**
 * The revocations of a revocations.json. Throws if the file is not JSON at all; otherwise a
 * revocation is never lost to a bad entry: every one with an id is kept, whatever else it says.
 */
export function parseRevocations(text: string): Revocation[] {
  const parsed = JSON.parse(text) as { revoked?: unknown } | null;
  if (typeof parsed !== 'object' || parsed === null) throw new Error('not a revocations file');
  const entries = new Map<string, Revocation>();
  for (const r of Array.isArray(parsed.revoked) ? (parsed.revoked as Array<Partial<Revocation>>) : []) {
    if (typeof r?.id !== 'string') continue;
    entries.set(r.id, {
      id: r.id,
      reason: typeof r.reason === 'string' ? r.reason : 'revoked',
      at: typeof r.at === 'string' ? r.at : '',
    });
  }
  return [...entries.values()];
}

/** Not through a link: the state directory's files are ours alone (core/no-follow.ts). */
async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFileNoFollow(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Executor records in registry.json, the whole file rewritten (coalesced) on change. */
export class FileExecutorStore implements ExecutorStore {
  private readonly records = new Map<string, ExecutorRecord>();
  private readonly writer: CoalescedJsonWriter;
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.file = path.join(stateDir, REGISTRY_FILE);
    this.writer = new CoalescedJsonWriter(
      this.file,
      (): RegistryFile => ({ version: 1, executors: this.sorted() }),
      logger,
      { mode: 0o640, minIntervalMs: REGISTRY_WRITE_INTERVAL_MS, clock },
    );
  }

  get description(): string {
    return this.file;
  }

  async load(): Promise<ExecutorRecord[]> {
    const text = await readIfExists(this.file);
    if (text === undefined) return [];
    try {
      const loaded = parseRegistry(text);
      for (const r of loaded) this.records.set(r.id, r);
      return loaded;
    } catch (e) {
      // A torn or hand-edited file must not stop the fleet: keep it aside and start empty.
      const aside = `${this.file}.corrupt-${this.clock.now()}`;
      await fs.rename(this.file, aside).catch(() => undefined);
      this.logger.warn('registry file unreadable; moved aside, starting empty', { file: aside, reason: errorText(e) });
      return [];
    }
  }

  changed(record: ExecutorRecord): void {
    this.records.set(record.id, record);
    this.writer.request();
  }

  get writeFailure(): string | undefined {
    return this.writer.failure;
  }

  retryWrite(): void {
    this.writer.request();
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Only this process writes the file: nothing changes elsewhere. */
  watch(): () => void {
    return () => {};
  }

  /** By SPIFFE ID (plain code-unit order: IDs are ASCII, and localeCompare costs ICU time per pair). */
  private sorted(): ExecutorRecord[] {
    return [...this.records.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** Revocations in revocations.json, rewritten whole (and synced) before a change resolves. */
export class FileRevocationStore implements RevocationStore {
  private readonly entries = new Map<string, Revocation>();
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, REVOCATIONS_FILE);
  }

  get description(): string {
    return this.file;
  }

  async load(): Promise<Revocation[]> {
    const text = await readIfExists(this.file);
    if (text === undefined) return [];
    for (const r of parseRevocations(text)) this.entries.set(r.id, r);
    return [...this.entries.values()];
  }

  async put(revocation: Revocation): Promise<void> {
    const before = this.entries.get(revocation.id);
    this.entries.set(revocation.id, revocation);
    await this.save().catch((e: unknown) => {
      // Not on disk, so not made: the file and this map stay the same.
      if (before) this.entries.set(before.id, before);
      else this.entries.delete(revocation.id);
      throw e;
    });
  }

  async remove(id: string): Promise<boolean> {
    const before = this.entries.get(id);
    if (!before) return false;
    this.entries.delete(id);
    await this.save().catch((e: unknown) => {
      this.entries.set(id, before);
      throw e;
    });
    return true;
  }

  /** Only this process writes the file: nothing changes elsewhere. */
  watch(): () => void {
    return () => {};
  }

  /** Nothing can be missed: there is no elsewhere. */
  staleForMs(): number {
    return 0;
  }

  private save(): Promise<void> {
    const revoked = [...this.entries.values()].sort((a, b) => a.id.localeCompare(b.id));
    return writeJsonAtomic(this.file, { version: 1, revoked }, { mode: 0o640 });
  }
}

/** Presence of one access point: in memory only (no connection survives the process). */
export class LocalPresenceStore implements PresenceStore {
  readonly shared = false;
  private readonly holders = new Map<string, Holder>();

  constructor(readonly self: string) {}

  load(): Promise<void> {
    return Promise.resolve();
  }

  claim(id: string, holder: Holder): void {
    this.holders.set(id, holder);
  }

  release(id: string, connectionId: string): void {
    if (this.holders.get(id)?.connectionId === connectionId) this.holders.delete(id);
  }

  holder(id: string): Holder | undefined {
    return this.holders.get(id);
  }

  watch(): () => void {
    return () => {};
  }
}

/** The default store: everything in the state directory, for one access point. */
export function openFileStore(
  stateDir: string,
  clock: Clock,
  logger: Logger,
  options: { auditHead?: AuditHeadStore; accessPointId?: string } = {},
): FleetStore {
  return {
    kind: 'file',
    executors: new FileExecutorStore(stateDir, clock, logger.child('registry')),
    revocations: new FileRevocationStore(stateDir),
    presence: new LocalPresenceStore(options.accessPointId ?? 'local'),
    tokens: new FileTokenStore(stateDir, clock, logger.child('tokens')),
    audit: AuditLog.in(
      stateDir,
      clock,
      logger,
      options.auditHead,
      options.accessPointId === undefined ? {} : { accessPoint: options.accessPointId },
    ),
    close: () => Promise.resolve(),
  };
}
