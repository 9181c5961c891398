// Revoked executors, by SPIFFE ID: answered from memory on the hot path (every handshake and
// Hello), kept by a RevocationStore (state/ports.ts) so a revocation survives restarts, and
// updated when the store reports a change made through another access point.

import type { Clock } from '../core/clock.js';
import type { RevocationStore } from './state/ports.js';

export interface Revocation {
  id: string;
  reason: string;
  at: string;
}

export class Revocations {
  private readonly entries = new Map<string, Revocation>();
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly store: RevocationStore,
    private readonly clock: Clock,
    /** Called with the ID of a revocation made elsewhere, so its connections here are closed. */
    private readonly onRemoteRevoke: (revocation: Revocation) => void = () => {},
  ) {}

  async load(): Promise<void> {
    for (const r of await this.store.load()) this.entries.set(r.id, r);
    this.unwatch = this.store.watch((id, revocation) => {
      if (!revocation) {
        this.entries.delete(id);
        return;
      }
      const known = this.entries.has(id);
      this.entries.set(id, revocation);
      if (!known) this.onRemoteRevoke(revocation);
    });
  }

  get(id: string): Revocation | undefined {
    return this.entries.get(id);
  }

  list(): Revocation[] {
    return [...this.entries.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Records the revocation in the store before it takes effect, so a crash cannot undo it. */
  async revoke(id: string, reason: string): Promise<Revocation> {
    const entry = { id, reason, at: new Date(this.clock.now()).toISOString() };
    await this.store.put(entry);
    this.entries.set(id, entry);
    return entry;
  }

  async unrevoke(id: string): Promise<boolean> {
    const had = await this.store.remove(id);
    this.entries.delete(id);
    return had;
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}
