// A dev fleet rotates on its own: short-lived dev certificates renew at the threshold on both
// sides, the access point swaps its certificate for new handshakes, the executor rotates make
// before break, nobody goes offline, and `ah agent status` reports the rotation.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-dev-renew-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const processes: AgentProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('dev identities renew and rotate by themselves', () => {
  it('rotates both sides without the executor ever going offline', async () => {
    // 10 s certificates renewed at 30 % of their life (3 s, +-0.5 s of jitter).
    const short = ['--dev-cert-ttl', '10s', '--renewal-threshold', '0.3'];
    const { ap, port } = await startAccessPoint(
      ['--fleet-listen', '127.0.0.1:0', '--state-dir', path.join(tmp.dir, 'ap'), ...short],
      env,
    );
    processes.push(ap);
    const exec = new AgentProcess(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--name',
        'rotor',
        '--state-dir',
        path.join(tmp.dir, 'rotor'),
        '--heartbeat-interval',
        '200ms',
        ...short,
      ],
      env,
    );
    processes.push(exec);
    const enrolled = await exec.waitForLine(/^info: enrolled /);
    const firstSerial = /serial=(\w+)/.exec(enrolled)?.[1];

    const renewed = await exec.waitForLine(/^info: renewed /, 10_000);
    const rotated = await exec.waitForLine(/^info: rotated /, 10_000);
    expect(renewed).toMatch(new RegExp(`old_serial=${firstSerial} new_serial=(\\w+) expires=\\S+`));
    const newSerial = /new_serial=(\w+)/.exec(rotated)?.[1];
    expect(rotated).toContain(`old_serial=${firstSerial}`);
    await ap.waitForLine(/^info: renewed /, 10_000);
    await ap.waitForLine(/^info: rotated old_serial=\w+ new_serial=\w+ expires=\S+ provider=dev$/, 10_000);

    // The access point saw the new certificate on the executor's new stream, and never lost it.
    await ap.waitForLine(`serial=${newSerial}`, 5_000);
    expect(ap.output).not.toMatch(/executor offline/);
    // The new stream named the one it replaced: a routine rotation, not a takeover of the identity.
    await ap.waitForLine(
      /^info: superseded executor_id=spiffe:\/\/ah-dev\.local\/ah\/agent\/rotor kind=rotation /,
      5_000,
    );
    expect(ap.output).not.toMatch(/identity taken over/);
    expect(exec.output).not.toMatch(/^error:/m);

    const status = await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, 'rotor')]);
    expect(status.code, status.stdout).toBe(0);
    // Certificates of 10 s renew every few seconds: by now the last rotation may be a later one.
    expect(status.stdout).toMatch(/last rotation:\s+\S+ \(.+ ago\) from serial [0-9A-F]+$/m);
    expect(status.stdout).toMatch(/next renewal:\s+\S+ \((in \d|due now)/);
    const json = JSON.parse(
      (await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, 'rotor'), '--json'])).stdout,
    ) as {
      executor: { identity: { certificate: { serial: string } } };
    };
    expect(json.executor.identity.certificate.serial).not.toBe(firstSerial);
    const registry = JSON.parse(readFileSync(path.join(tmp.dir, 'ap', 'registry.json'), 'utf8')) as {
      executors: Array<{ state: string }>;
    };
    expect(registry.executors.map((e) => e.state)).toEqual(['online']);
  }, 30_000);
});
