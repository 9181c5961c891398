// The layout is the architecture: cli -> fleet | executor -> identity | tls | renewal | protocol
// -> x509 -> core. A module may import its own layer or lower ones, never a higher one, and the
// two sides of the wire (fleet, executor) never import each other. And the test tiers keep to
// their rules: no test imports built code from dist/, and unit tests start no processes.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/repo.js';

const RANK: Record<string, number> = {
  core: 0,
  x509: 1,
  identity: 2,
  tls: 2,
  renewal: 2,
  protocol: 2,
  fleet: 3,
  executor: 3,
  cli: 4,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

describe('source layering', () => {
  const src = path.join(REPO_ROOT, 'src');
  const edges: Array<{ from: string; to: string; file: string }> = [];
  for (const file of sourceFiles(src)) {
    const from = path.relative(src, file).split(path.sep)[0] as string;
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const target = path.relative(src, path.resolve(path.dirname(file), m[1] as string)).split(path.sep)[0] as string;
      if (target !== from) edges.push({ from, to: target, file: path.relative(REPO_ROOT, file) });
    }
  }

  it('knows every top-level source directory', () => {
    const dirs = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(dirs.filter((d) => RANK[d] === undefined)).toEqual([]);
  });

  it('imports only downwards', () => {
    const upward = edges.filter((e) => (RANK[e.to] ?? 99) > (RANK[e.from] ?? -1)).map((e) => `${e.file} -> ${e.to}`);
    expect(upward).toEqual([]);
  });

  it('reads time only through src/core/clock.ts', () => {
    const offenders = sourceFiles(src)
      .filter((f) => !f.endsWith(path.join('core', 'clock.ts')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${path.relative(REPO_ROOT, f)}:${i + 1}` }))
          .filter(
            ({ line }) =>
              /\bDate\.now\(|\bsetTimeout\(|\bsetInterval\(|new Date\(\)/.test(line) && !line.trim().startsWith('//'),
          ),
      )
      .map(({ at }) => at);
    expect(offenders).toEqual([]);
  });

  it('keeps the access point and the executor independent of each other', () => {
    const crossing = edges.filter(
      (e) => (e.from === 'fleet' && e.to === 'executor') || (e.from === 'executor' && e.to === 'fleet'),
    );
    expect(crossing.map((e) => e.file)).toEqual([]);
  });
});

describe('test tiers', () => {
  const testDir = path.join(REPO_ROOT, 'test');
  const files = sourceFiles(testDir).map((file) => ({
    file: path.relative(REPO_ROOT, file),
    text: readFileSync(file, 'utf8'),
  }));
  // Static imports and re-exports, import() and require() of a literal path.
  const specifiers = (text: string): string[] =>
    [
      ...text.matchAll(
        /\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"`]([^'"`]+)['"`]|\brequire\s*\(\s*['"`]([^'"`]+)['"`]/g,
      ),
    ].map((m) => (m[1] ?? m[2] ?? m[3]) as string);

  it('finds the test files it checks', () => {
    expect(files.filter((f) => f.file.startsWith(path.join('test', 'unit'))).length).toBeGreaterThan(10);
    const built = 'dist'; // spelt apart, so that this file does not match itself
    expect(specifiers(`import { a } from '../../${built}/src/a.js';`)).toEqual([`../../${built}/src/a.js`]);
    expect(specifiers(`await import('../${built}/src/b.js')`)).toEqual([`../${built}/src/b.js`]);
    const processes = 'child_process';
    expect(specifiers(`import { spawn } from 'node:${processes}';`)).toEqual([`node:${processes}`]);
  });

  it('never imports built code from dist/ (tests run the sources; the built CLI only as a process)', () => {
    const offenders = files.flatMap(({ file, text }) =>
      specifiers(text)
        .filter((s) => /(^|\/)dist\//.test(s))
        .map((s) => `${file}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('starts no processes in test/unit (a test that spawns a program is an integration test)', () => {
    const offenders = files
      .filter(({ file }) => file.startsWith(path.join('test', 'unit') + path.sep))
      .flatMap(({ file, text }) =>
        specifiers(text)
          .filter((s) => /^(node:)?child_process$/.test(s) || /support\/(agent-process|openssl)\.js$/.test(s))
          .map((s) => `${file}: imports ${s}`),
      );
    expect(offenders).toEqual([]);
  });
});
