// Writes an identity (cert, key, CA bundle) into a directory the way real tools do: in place,
// temp-then-rename, a Kubernetes `..data` symlink swap, or a slow writer in two steps.

import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface PemSet {
  cert: string;
  key: string;
  ca: string;
}

export type WriteMode = 'in-place' | 'rename' | 'k8s' | 'slow';

export interface IdentityDir {
  dir: string;
  cert: string;
  key: string;
  ca: string;
}

const NAMES = { cert: 'cert.pem', key: 'key.pem', ca: 'ca.pem' } as const;
let generation = 0;

export function identityDir(dir: string): IdentityDir {
  return { dir, cert: path.join(dir, NAMES.cert), key: path.join(dir, NAMES.key), ca: path.join(dir, NAMES.ca) };
}

/** First write; for k8s mode it builds the `..data` layout that later swaps replace. */
export async function writeInitial(dir: string, pems: PemSet, mode: WriteMode): Promise<IdentityDir> {
  await fs.mkdir(dir, { recursive: true });
  if (mode === 'k8s') {
    const ts = await k8sGeneration(dir, pems);
    await fs.symlink(ts, path.join(dir, '..data'));
    for (const name of Object.values(NAMES)) await fs.symlink(path.join('..data', name), path.join(dir, name));
  } else {
    for (const [field, name] of Object.entries(NAMES))
      await fs.writeFile(path.join(dir, name), pems[field as keyof PemSet], { mode: field === 'key' ? 0o600 : 0o644 });
  }
  return identityDir(dir);
}

async function k8sGeneration(dir: string, pems: PemSet): Promise<string> {
  generation += 1;
  const ts = `..2026_11_23_00_00_00.${generation}`;
  await fs.mkdir(path.join(dir, ts));
  for (const [field, name] of Object.entries(NAMES))
    await fs.writeFile(path.join(dir, ts, name), pems[field as keyof PemSet]);
  return ts;
}

/** Replaces the files; `fields` limits which ones change (e.g. only the cert, to model a torn update). */
export async function replace(dir: string, pems: Partial<PemSet>, mode: WriteMode): Promise<void> {
  const fields = Object.keys(pems) as Array<keyof PemSet>;
  switch (mode) {
    case 'in-place':
      for (const f of fields) await fs.writeFile(path.join(dir, NAMES[f]), pems[f] as string);
      return;
    case 'rename':
      for (const f of fields) {
        const temp = path.join(dir, `.${NAMES[f]}.tmp`);
        await fs.writeFile(temp, pems[f] as string);
        await fs.rename(temp, path.join(dir, NAMES[f]));
      }
      return;
    case 'slow':
      // Truncate, write a little, pause, write the rest: a reader that does not wait sees half a file.
      for (const f of fields) {
        const text = pems[f] as string;
        const handle = await fs.open(path.join(dir, NAMES[f]), 'w');
        await handle.write(text.slice(0, 40));
        await new Promise((r) => setTimeout(r, 30));
        await handle.write(text.slice(40));
        await handle.close();
      }
      return;
    case 'k8s': {
      const current = await fs.readlink(path.join(dir, '..data'));
      const old: PemSet = {
        cert: await fs.readFile(path.join(dir, current, NAMES.cert), 'utf8'),
        key: await fs.readFile(path.join(dir, current, NAMES.key), 'utf8'),
        ca: await fs.readFile(path.join(dir, current, NAMES.ca), 'utf8'),
      };
      const ts = await k8sGeneration(dir, { ...old, ...pems });
      await fs.symlink(ts, path.join(dir, '..data_tmp'));
      await fs.rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      await fs.rm(path.join(dir, current), { recursive: true, force: true });
      return;
    }
  }
}
