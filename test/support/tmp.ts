// Temporary directories that tests clean up after themselves.
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function makeTempDir(prefix = 'ah-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // Retries cover a background write (a coalesced state file) still finishing in the directory.
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }) };
}

/** Writes `data` to `dir/name` and returns the path. */
export async function writeTemp(dir: string, name: string, data: string | Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, data);
  return file;
}
