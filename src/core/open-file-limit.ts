// How many file descriptors this process may hold (RLIMIT_NOFILE, soft limit), as Linux reports
// it in /proc/self/limits; Node has no getrlimit(). Node raises the soft limit to the hard limit
// at start-up, so this is what the process really has. Undefined where it cannot be read (not
// Linux, or /proc hidden): the caller then has nothing to check against.

import { readFileSync } from 'node:fs';

export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
