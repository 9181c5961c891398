// Shared life cycle of the long-running commands: logger from flags, a state-dir lock, and a clean
// stop on SIGTERM/SIGINT (systemd stop, Ctrl-C). A second signal exits at once.

import { promises as fs } from 'node:fs';
import { AhError, errorText } from '../core/errors.js';
import { createLogger, parseModuleLevels, type Logger } from '../core/logger.js';
import { acquirePidLock, type PidLock } from '../core/pid-lock.js';
import { checkTrustedDirectory } from '../core/trusted-directory.js';
import type { CommonFlags } from './shared-flags.js';
import { parseLogFormat, parseLogLevel } from './options.js';

/**
 * The logger from --log-level and --log-format, refined by AH_LOG (`module=level` pairs, e.g.
 * `AH_LOG=identity=debug`): a finer alternative to --log-level, as the guide's RUST_LOG example.
 */
export function loggerFromFlags(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): Logger {
  let refined: ReturnType<typeof parseModuleLevels>;
  try {
    refined = parseModuleLevels(env.AH_LOG);
  } catch (e) {
    throw new AhError('USAGE', { reason: (e as Error).message });
  }
  const explicitLevel = flags.logLevel !== 'info' ? parseLogLevel(flags.logLevel) : undefined;
  return createLogger({
    level: explicitLevel ?? refined?.level ?? parseLogLevel(flags.logLevel),
    format: parseLogFormat(flags.logFormat),
    moduleLevels: refined?.modules ?? {},
  });
}

/**
 * Creates the state directory if needed (0750), refuses one that others could tamper with (not
 * ours, or writable by group or others: see core/trusted-directory.ts), and takes its lock.
 * Returns the directory's real path, which the agent uses from then on: a symbolic link on the
 * way to it is followed once, here, and never again (it could be swapped while we run).
 */
export async function prepareStateDir(dir: string, role: string): Promise<{ lock: PidLock; stateDir: string }> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: errorText(e) }, { cause: e });
  }
  const stateDir = await checkTrustedDirectory(dir);
  return { lock: await acquirePidLock(stateDir, role), stateDir };
}

/** Resolves with the signal name when the process is asked to stop. */
export function untilStopSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        logger.warn('second stop signal; exiting now', { signal });
        process.exit(1);
      }
      received = true;
      logger.info('stopping', { signal });
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
