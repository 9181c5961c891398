// Revoked executors, by SPIFFE ID, kept in revocations.json so a revocation survives restarts.

import path from 'node:path';
import { writeJsonAtomic } from '../core/atomic-file.js';
import type { Clock } from '../core/clock.js';
import { readFileNoFollow } from '../core/no-follow.js';

export const REVOCATIONS_FILE = 'revocations.json';

export interface Revocation {
  id: string;
  reason: string;
  at: string;
}

export class Revocations {
  private readonly entries = new Map<string, Revocation>();

  constructor(
    private readonly stateDir: string,
    private readonly clock: Clock,
  ) {}

  private get file(): string {
    return path.join(this.stateDir, REVOCATIONS_FILE);
  }

  async load(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFileNoFollow(this.file)) as { revoked?: unknown };
      // A revocation must never be lost to a bad entry: keep every one with an id, whatever else it says.
      for (const r of Array.isArray(parsed.revoked) ? (parsed.revoked as Array<Partial<Revocation>>) : []) {
        if (typeof r?.id !== 'string') continue;
        this.entries.set(r.id, {
          id: r.id,
          reason: typeof r.reason === 'string' ? r.reason : 'revoked',
          at: typeof r.at === 'string' ? r.at : '',
        });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  get(id: string): Revocation | undefined {
    return this.entries.get(id);
  }

  list(): Revocation[] {
    return [...this.entries.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Records the revocation on disk before it takes effect, so a crash cannot undo it. */
  async revoke(id: string, reason: string): Promise<Revocation> {
    const entry = { id, reason, at: new Date(this.clock.now()).toISOString() };
    this.entries.set(id, entry);
    await this.save();
    return entry;
  }

  async unrevoke(id: string): Promise<boolean> {
    const had = this.entries.delete(id);
    if (had) await this.save();
    return had;
  }

  private save(): Promise<void> {
    return writeJsonAtomic(this.file, { version: 1, revoked: this.list() }, { mode: 0o640 });
  }
}
