// The same single-use token presented at the same moment to two access points that share one
// etcd store: exactly one executor joins, the other hears "join token already used". Real
// processes: two access points on one fleet CA and one etcd member, two `ah agent enroll`
// started together, one at each access point, for several tokens in a row.

import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../support/agent-process.js';
import { runMain } from '../support/cli.js';
import { HaFleet } from '../support/ha-fleet.js';
import { makeTempDir } from '../support/tmp.js';

const ROUNDS = 4;
const ca = makeTempDir('ah-join-ha-ca-');
let fleet: HaFleet;
let pin = '';

beforeAll(async () => {
  const init = await runMain(['agent', 'ca', 'init', '--dir', ca.dir, '--trust-domain', 'example.org']);
  expect(init.code, init.stderr).toBe(0);
  pin = /^root CA pin: (sha256:[0-9a-f]{64})$/m.exec(init.stdout)?.[1] ?? '';
  fleet = await HaFleet.start(
    {
      etcd: { members: 1, tls: true },
      leaseTtlSeconds: 3,
      freshness: '5s',
      label: 'join-ha',
      // Each access point issues itself its certificate from the same fleet CA files.
      apArgs: [
        '--fleet-ca-cert',
        path.join(ca.dir, 'fleet-ca.pem'),
        '--fleet-ca-key',
        path.join(ca.dir, 'intermediate-key.pem'),
      ],
    },
    ['ap1', 'ap2'],
  );
}, 60_000);
afterAll(async () => {
  await fleet?.destroy();
  ca.cleanup();
});

/** Runs an enroll to its first verdict: enrolled (then stopped), or its error line (it exits). */
async function verdict(proc: AgentProcess): Promise<string> {
  const line = stripVTControlCharacters(await proc.waitForLine(/^info: enrolled |^error: /, 20_000));
  await proc.stop();
  return line.startsWith('info: enrolled') ? 'enrolled' : line;
}

describe('one single-use token at two access points on etcd at once', () => {
  it(`admits exactly one executor, ${ROUNDS} times in a row`, async () => {
    const [ap1, ap2] = [fleet.ap('ap1'), fleet.ap('ap2')];
    for (let round = 1; round <= ROUNDS; round++) {
      const name = `race-${round}`;
      const created = await runMain(['agent', 'token', 'create', '--name', name, '--state-dir', ap1.stateDir]);
      expect(created.code, created.stderr).toBe(0);
      const token = /^ {2}(ahjoin_\S+)$/m.exec(created.stdout)?.[1] as string;
      const file = path.join(fleet.tmp.dir, `${name}.token`);
      writeFileSync(file, token, { mode: 0o600 });
      chmodSync(file, 0o600);
      const at = (ap: typeof ap1, side: string): AgentProcess =>
        new AgentProcess([
          'agent',
          'enroll',
          '--remote-server',
          `https://127.0.0.1:${ap.port}`,
          '--state-dir',
          path.join(fleet.tmp.dir, `${name}-${side}`),
          '--join-token-file',
          file,
          '--ca-pin',
          pin,
        ]);
      const both = await Promise.all([verdict(at(ap1, 'a')), verdict(at(ap2, 'b'))]);
      expect(
        both.filter((v) => v === 'enrolled'),
        both.join(' | '),
      ).toHaveLength(1);
      expect(both.filter((v) => v !== 'enrolled')).toEqual(['error: join token already used']);
    }
    // Both access points see the same fleet: every winner, once.
    const listed = await fleet.executorsAt(ap2);
    for (let round = 1; round <= ROUNDS; round++)
      expect(listed.filter((e) => e.id === `spiffe://example.org/ah/agent/race-${round}`)).toHaveLength(1);
  }, 120_000);
});
