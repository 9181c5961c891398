// The files provider, live: watches the directories that hold the certificate, key and CA bundle
// (so rename-replace, editor saves and Kubernetes `..data` symlink swaps are all seen), waits for
// writes to settle, re-reads all three, validates them as a set, and publishes only a good
// identity. Anything else is logged with the guide's message and the last good identity stays.
// A periodic re-check catches whatever the watcher missed (network filesystems, lost events).

import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Clock, Timer } from '../core/clock.js';
import { formatDuration } from '../core/clock.js';
import { errorText, toAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { renewalPoint, type RenewalPolicy } from '../renewal/policy.js';
import { identityFromSnapshot, readFilesSnapshot, type FilesPaths, type FilesSnapshot } from './files.js';
import { PublishingIdentitySource, type Identity, type RenewalStatus } from './identity.js';

export interface FilesSourceOptions {
  paths: FilesPaths;
  clock: Clock;
  logger: Logger;
  /** Used to say when the files are due to be replaced, and to warn when they are late. */
  policy: RenewalPolicy;
  /** Quiet time after the last change before reading (cert and key often change separately). */
  debounceMs?: number;
  /** Backstop re-read interval. */
  recheckMs?: number;
}

export class FilesIdentitySource extends PublishingIdentitySource {
  readonly provider = 'files' as const;
  private watcher: FSWatcher | undefined;
  private debounce: Timer | undefined;
  private recheck: Timer | undefined;
  private loadedHash = '';
  private lastFailure = '';
  private warnedLateFor = '';
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: FilesSourceOptions) {
    super();
  }

  /** Loads the files (any problem is thrown: fatal at start-up) and starts watching them. */
  static async start(options: FilesSourceOptions): Promise<FilesIdentitySource> {
    const source = new FilesIdentitySource(options);
    const snapshot = await source.read();
    source.publish(source.validate(snapshot), options.clock.now());
    source.loadedHash = snapshot.hash;
    await source.startWatching();
    source.scheduleRecheck();
    return source;
  }

  renewalStatus(): RenewalStatus {
    const id = this.current();
    return {
      mode: 'watch',
      nextRenewalAt: renewalPoint(id, this.options.policy, 0.5),
      ...this.troubleFacts(),
      ...this.rotationFacts(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.debounce?.cancel();
    this.recheck?.cancel();
    await this.watcher?.close();
    await this.reloading;
  }

  /** Re-reads now (also what the watcher and the periodic check call). */
  reload(trigger: string): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce(trigger));
    return this.reloading;
  }

  private read(): Promise<FilesSnapshot> {
    return readFilesSnapshot(this.options.paths);
  }

  private validate(s: FilesSnapshot): Identity {
    return identityFromSnapshot(this.options.paths, s, this.options.clock.now());
  }

  private async reloadOnce(trigger: string): Promise<void> {
    if (this.closed) return;
    const { logger, clock } = this.options;
    let snapshot: FilesSnapshot | undefined;
    try {
      snapshot = await this.read();
      if (snapshot.hash === this.loadedHash) {
        // The files in use are there again (a bad replacement was undone): no trouble left.
        this.lastFailure = '';
        this.untroubled();
        return;
      }
      const identity = this.validate(snapshot);
      const old = this.current();
      this.loadedHash = snapshot.hash;
      this.lastFailure = '';
      logger.info('identity files changed; new certificate loaded', {
        trigger,
        old_serial: old.serial,
        new_serial: identity.serial,
        expires: identity.facts.notAfter,
      });
      this.publish(identity, clock.now());
    } catch (e) {
      const error = toAhError(e);
      // Status shows it from the first refusal until good files replace it.
      this.troubled(error, clock.now());
      // Say it once per distinct broken state, not on every event and re-check.
      const key = `${snapshot?.hash ?? ''}|${error.message}`;
      if (key === this.lastFailure) return;
      this.lastFailure = key;
      const current = this.current();
      logger.failure('warn', error, {
        event: 'identity files not usable; keeping the last good identity',
        trigger,
        serial: current.serial,
        valid_for: formatDuration(current.notAfter - clock.now()),
      });
    }
  }

  private async startWatching(): Promise<void> {
    const { paths, logger } = this.options;
    const dirs = [...new Set([paths.cert, paths.key, ...paths.ca].map((p) => path.dirname(path.resolve(p))))];
    this.watcher = watch(dirs, {
      ignoreInitial: true,
      depth: 0,
      // A writer that truncates and then writes in steps is read only once it has been quiet.
      awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 10 },
    });
    // Any change in these directories may concern us (renames, `..data` swaps): re-read and compare.
    this.watcher.on('all', (_event, changed) => this.schedule(`watch ${path.basename(changed)}`));
    this.watcher.on('error', (e) =>
      logger.warn('file watcher error; periodic re-check continues', { reason: errorText(e) }),
    );
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
  }

  private schedule(trigger: string): void {
    if (this.closed) return;
    this.debounce?.cancel();
    this.debounce = this.options.clock.setTimer(() => void this.reload(trigger), this.options.debounceMs ?? 100);
  }

  private scheduleRecheck(): void {
    if (this.closed) return;
    this.recheck = this.options.clock.setTimer(() => {
      void this.reload('periodic re-check').then(() => {
        this.warnIfLate();
        this.scheduleRecheck();
      });
    }, this.options.recheckMs ?? 30_000);
  }

  /** Files are renewed by someone else; when they are late, say so before the certificate expires. */
  private warnIfLate(): void {
    const id = this.current();
    const now = this.options.clock.now();
    if (now < renewalPoint(id, this.options.policy, 0.5) || this.warnedLateFor === id.serial) return;
    this.warnedLateFor = id.serial;
    this.options.logger.warn('certificate is past its renewal point and the files have not been replaced', {
      serial: id.serial,
      expires: id.facts.notAfter,
      left: formatDuration(id.notAfter - now),
      cert: this.options.paths.cert,
    });
  }
}
