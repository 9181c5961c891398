// Shared life cycle of the long-running commands: logger from flags, a state-dir lock, and a clean
// stop on SIGTERM/SIGINT (systemd stop, Ctrl-C). A second signal exits at once.

import { promises as fs } from 'node:fs';
import { AhError, errorText } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { acquirePidLock, type PidLock } from '../core/pid-lock.js';
import type { CommonFlags } from './shared-flags.js';
import { parseLogFormat, parseLogLevel } from './options.js';

export function loggerFromFlags(flags: CommonFlags): Logger {
  return createLogger({ level: parseLogLevel(flags.logLevel), format: parseLogFormat(flags.logFormat) });
}

export async function prepareStateDir(dir: string, role: string): Promise<PidLock> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: errorText(e) }, { cause: e });
  }
  return acquirePidLock(dir, role);
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
