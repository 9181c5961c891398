// A FIFO planted where a state file should be is refused without blocking on it: the no-follow
// reader, and the audit log at open. Node cannot make a FIFO itself, so mkfifo(1) does, and these
// live here rather than with the other no-follow and audit log tests in test/unit.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileNoFollow } from '../../src/core/no-follow.js';
import { AuditLog } from '../../src/fleet/audit-log.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { expectAhRejection } from '../unit/helpers/errors.js';

const tmp = makeTempDir('ah-fifo-');
afterAll(() => tmp.cleanup());

function fifoIn(name: string, file: string): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir, { mode: 0o750 });
  const fifo = path.join(dir, file);
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  return fifo;
}

describe('a FIFO where a state file should be', () => {
  it('is refused by the no-follow reader without blocking on it', async () => {
    const fifo = fifoIn('files', 'registry.json');
    await expectAhRejection(readFileNoFollow(fifo), 'UNSAFE_FILE', {
      message: `refusing to open ${fifo}: it is not a regular file`,
    });
  });

  it('is refused at audit.log without hanging', async () => {
    const file = fifoIn('audit', 'audit.log');
    await expectAhRejection(new AuditLog(file, new FakeClock(), captureLogger().logger).open(), 'UNSAFE_FILE', {
      message: `refusing to open ${file}: it is not a regular file`,
    });
  });
});
