// `npm test` starts with scripts/check.sh: types, lint and formatting. This runs the real script
// with the project's real configs on a small tree of its own, and shows that a type error, a lint
// finding (a floating promise) and a formatting difference each fail it and are each reported once,
// and that the same tree without them passes.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/tmp.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = makeTempDir('ah-static-checks-');
afterAll(() => tmp.cleanup());

const CONFIGS = ['eslint.config.js', '.prettierrc.json', '.prettierignore', 'tsconfig.json', 'tsconfig.check.json'];
const GOOD = {
  'src/typed.ts': 'export const port: number = 4433;\n',
  'src/promise.ts':
    'export async function start(): Promise<void> {}\n\nexport async function main(): Promise<void> {\n  await start();\n}\n',
  'src/formatted.ts': "export const name = 'ah';\n",
};
const BAD = {
  'src/typed.ts': "export const port: number = '4433';\n",
  'src/promise.ts':
    'export async function start(): Promise<void> {}\n\nexport function main(): void {\n  start();\n}\n',
  'src/formatted.ts': 'export const name = "ah"\n',
};

function tree(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  mkdirSync(path.join(dir, 'scripts'));
  for (const f of CONFIGS) copyFileSync(path.join(root, f), path.join(dir, f));
  copyFileSync(path.join(root, 'scripts/check.sh'), path.join(dir, 'scripts/check.sh'));
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'package.json'), '{\n  "type": "module"\n}\n');
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}

const check = (dir: string): { status: number | null; output: string } => {
  // CI may force colour (FORCE_COLOR): Prettier then writes `[\x1b[33mwarn\x1b[39m]`, so colour is
  // turned off for the child and any escape that still comes through is stripped before matching.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const r = spawnSync('bash', [path.join(dir, 'scripts/check.sh')], { encoding: 'utf8', timeout: 120_000, env });
  return { status: r.status, output: stripVTControlCharacters(`${r.stdout}${r.stderr}`) };
};
const count = (text: string, pattern: RegExp): number => text.match(new RegExp(pattern, 'g'))?.length ?? 0;

describe('scripts/check.sh (the first step of npm test)', () => {
  it('passes a clean tree', () => {
    const r = check(tree('good', GOOD));
    expect(r.output).toContain('check: types, lint and formatting clean');
    expect(r.status).toBe(0);
  });

  it('fails on a type error, a floating promise and a formatting difference, and shows each once', () => {
    const r = check(tree('bad', BAD));
    expect(r.status, r.output).toBe(1);
    expect(count(r.output, /src\/typed\.ts\(1,14\): error TS2322/), r.output).toBe(1);
    expect(count(r.output, /@typescript-eslint\/no-floating-promises/), r.output).toBe(1);
    expect(count(r.output, /\[warn\] src\/formatted\.ts/), r.output).toBe(1);
    expect(r.output).toContain('check: failed: types lint format');
  });
});
