// `npm pack` ships the product and nothing else: the compiled program (dist/src, JavaScript only),
// the protobuf definitions it loads, the README and package.json; built afresh by prepack, so a
// file left in dist/ by an older build (or a bench script, or a test) never reaches an operator.
// Runs in a copy of the package, because prepack empties dist/ and other tests run from it.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-pack-');
afterAll(() => tmp.cleanup());

describe('npm pack', () => {
  it('ships only a clean build of the product', () => {
    const copy = path.join(tmp.dir, 'package');
    mkdirSync(copy);
    for (const entry of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'README.md',
      'src',
      'scripts',
      'proto',
      'examples',
    ]) {
      cpSync(path.join(REPO_ROOT, entry), path.join(copy, entry), { recursive: true });
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    // What an older build leaves behind: a module since deleted, and the bench scripts.
    mkdirSync(path.join(copy, 'dist', 'src', 'gone'), { recursive: true });
    writeFileSync(path.join(copy, 'dist', 'src', 'gone', 'stale.js'), 'export {};\n');
    mkdirSync(path.join(copy, 'dist', 'scripts'), { recursive: true });
    writeFileSync(path.join(copy, 'dist', 'scripts', 'demo.js'), '\n');

    const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', tmp.dir], {
      cwd: copy,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(packed.status, packed.stderr).toBe(0);
    // npm prints the build's output before the JSON report.
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as Array<{
      files: Array<{ path: string }>;
    }>;
    const files = (report[0]?.files ?? []).map((f) => f.path).sort();

    expect(files).toContain('dist/src/cli/bin.js');
    expect(files).toContain('proto/ah/fleet/v1/fleet.proto');
    expect(files).not.toContain('dist/src/gone/stale.js');
    // The OpenSSL settings the access point's hint names, at the path it names.
    expect(files).toContain('examples/openssl.cnf');
    const outside = files.filter(
      (f) =>
        !/^dist\/src\/.+\.js$/.test(f) &&
        !f.startsWith('proto/') &&
        f !== 'README.md' &&
        f !== 'package.json' &&
        f !== 'examples/openssl.cnf',
    );
    expect(outside).toEqual([]);
  }, 300_000);
});
