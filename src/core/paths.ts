// Where `ah` keeps things on disk when the operator does not say.

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** `--state-dir` default: /var/lib/ah for root (the systemd units), else $XDG_STATE_HOME/ah. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/var/lib/ah';
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'ah');
}

/**
 * The per-user dev CA directory. It is shared by every `ah` process of one user, whatever their
 * --state-dir, so that an access point and several executors on one machine trust each other
 * with no flags. AH_DEV_CA_DIR overrides it (tests use it to stay out of $HOME).
 */
export function defaultDevCaDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AH_DEV_CA_DIR) return env.AH_DEV_CA_DIR;
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'ah', 'dev-ca');
}

let root: string | undefined;

/** The package root (holds package.json and proto/), found from this file in src/ or dist/src/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'proto')) || !existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the ah package root (proto/ directory)');
    dir = parent;
  }
  root = dir;
  return dir;
}
