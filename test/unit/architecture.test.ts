// The layout is the architecture: cli -> fleet | executor -> identity | tls | renewal | protocol
// -> x509 -> core. A module may import its own layer or lower ones, never a higher one, and the
// two sides of the wire (fleet, executor) never import each other.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/agent-process.js';

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
