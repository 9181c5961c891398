// `ah agent status` prints what the state directory's files hold, and much of that came from
// outside (names, the id and error texts an access point sent, certificate names). A hostile value
// must come out visible, on its own row: never as a terminal sequence, never as a line that reads
// as another row. The files are written here directly, as a tampered or hostile state would be.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasControlCharacters } from '../../src/core/escape.js';
import { EXECUTOR_STATUS_FILE, type ExecutorStatus } from '../../src/executor/executor-status.js';
import { runMain } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-status-escape-');
afterAll(() => tmp.cleanup());

const now = Date.now();
const iso = (ms: number): string => new Date(ms).toISOString();

const hostile = {
  // A newline followed by what looks like a row of its own.
  name: 'worker-1\n  executor id:       spiffe://example.org/ah/agent/root',
  accessPoint: 'ap.example.org:4433\u001b[2J\u001b[H',
  executorId: 'spiffe://example.org/ah/agent/x\u202e\u2066exe.sh',
  // The state is shown in the headline when it is not 'connected'.
  state: 'connected\u001b[32m',
  lastError: 'executor revoked by the access point: \r\u001b]0;pwned\u0007',
  renewalError: 'failed to issue certificate: \u009b31mdenied\u2028next',
  subject: 'CN=x\u0085\u007f',
  san: 'spiffe://example.org/ah/agent/x\nDNS:evil.example.org',
  issuer: `CN=${'A'.repeat(60_000)}`,
};

function status(): ExecutorStatus {
  return {
    role: 'executor',
    // This test's own process: alive, so the status command shows the state it read.
    pid: process.pid,
    version: '0.1.0',
    state: hostile.state as ExecutorStatus['state'],
    accessPoint: hostile.accessPoint,
    name: hostile.name,
    executorId: hostile.executorId,
    connectedSince: iso(now - 600_000),
    lastAck: iso(now - 1_000),
    heartbeatIntervalMs: 5_000,
    serverTimeOffsetMs: 0,
    lastRoundTripMs: 3,
    nextAttemptAt: null,
    identity: {
      provider: 'files',
      spiffeId: hostile.executorId,
      certificate: {
        subject: hostile.subject,
        issuer: hostile.issuer,
        serial: '0A1B2C',
        notBefore: iso(now - 3_600_000),
        notAfter: iso(now + 86_400_000),
        fingerprintSha256: 'AA:BB',
        sans: { uris: [hostile.san], dns: ['ok.example.org'], ips: [] },
        isCa: false,
      },
      renewal: {
        mode: 'renewer',
        nextRenewalAt: iso(now + 3_600_000),
        lastRotationAt: null,
        previousSerial: null,
        lastError: { message: hostile.renewalError, at: iso(now - 60_000) },
      },
    },
    lastError: { code: 'REVOKED', message: hostile.lastError, detail: 'x', at: iso(now - 5_000) },
    updatedAt: iso(now - 1_000),
  };
}

function stateDir(name: string): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(path.join(dir, EXECUTOR_STATUS_FILE), JSON.stringify(status()));
  return dir;
}

/** The value of the row `key`, which must be there exactly once. */
function row(lines: string[], key: string): string {
  const found = lines.filter((l) => l.startsWith(`  ${key}: `));
  expect(found, key).toHaveLength(1);
  return (found[0] as string).slice(`  ${key}:`.length).trimStart();
}

describe('ah agent status with hostile values in status.json', () => {
  it('prints every value escaped, one row per line, and cuts a 60,000-character value', async () => {
    const result = await runMain(['agent', 'status', '--state-dir', stateDir('text'), '--show-cert']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(hasControlCharacters(result.stdout.replace(/\n/g, ''))).toBe(false);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('executor: connected\\x1b[32m (unhealthy: not connected (connected\\x1b[32m))');
    // Every other line is one row of the table, in the order it is rendered.
    expect(lines.slice(1).map((l) => /^ {2}([a-zA-Z0-9 -]+): +\S/.exec(l)?.[1])).toEqual([
      'access point',
      'executor id',
      'name',
      'connected since',
      'last ack',
      'identity',
      'expires',
      'next renewal',
      'last rotation',
      'renewal failing',
      'last error',
      'pid',
      'subject',
      'SANs',
      'issuer',
      'serial',
      'not before',
      'not after',
      'sha-256',
    ]);
    expect(row(lines, 'name')).toBe('worker-1\\n  executor id:       spiffe://example.org/ah/agent/root');
    expect(row(lines, 'access point')).toBe('ap.example.org:4433\\x1b[2J\\x1b[H');
    expect(row(lines, 'executor id')).toBe('spiffe://example.org/ah/agent/x\\u202e\\u2066exe.sh');
    expect(row(lines, 'last error')).toMatch(
      /^executor revoked by the access point: \\r\\x1b\]0;pwned\\x07 \(\S+ \(\S+ ago\)\)$/,
    );
    expect(row(lines, 'renewal failing')).toMatch(
      /^failed to issue certificate: \\x9b31mdenied\\u2028next \(since \S+ \(\S+ ago\)\)$/,
    );
    expect(row(lines, 'subject')).toBe('CN=x\\x85\\x7f');
    expect(row(lines, 'SANs')).toBe('URI:spiffe://example.org/ah/agent/x\\nDNS:evil.example.org, DNS:ok.example.org');
    expect(row(lines, 'issuer')).toBe(`CN=${'A'.repeat(2045)}...[cut ${60_003 - 2048} characters]`);
  });

  it('prints --json with the values as they are, every control character as a \\u escape', async () => {
    const result = await runMain(['agent', 'status', '--state-dir', stateDir('json'), '--json']);
    expect(result.code).toBe(1);
    // JSON's own layout is the only raw control character.
    expect(hasControlCharacters(result.stdout.replace(/\n/g, ''))).toBe(false);
    expect(result.stdout).toContain('"executorId": "spiffe://example.org/ah/agent/x\\u202e\\u2066exe.sh"');
    const parsed = JSON.parse(result.stdout) as { executor: ExecutorStatus };
    expect(parsed.executor).toMatchObject({
      name: hostile.name,
      accessPoint: hostile.accessPoint,
      executorId: hostile.executorId,
    });
    expect(parsed.executor.identity?.certificate).toMatchObject({ subject: hostile.subject, issuer: hostile.issuer });
    expect(parsed.executor.identity?.renewal.lastError?.message).toBe(hostile.renewalError);
  });

  it('prints the error about a status.json that is not JSON escaped, in its two lines', async () => {
    const dir = path.join(tmp.dir, 'garbage');
    mkdirSync(dir, { mode: 0o700 });
    // JSON.parse quotes what it could not parse in its message, and that ends up in the error line.
    writeFileSync(path.join(dir, EXECUTOR_STATUS_FILE), '\u001b[2J\u001b]0;pwned\u0007\n\u009b1m');
    const result = await runMain(['agent', 'status', '--state-dir', dir]);
    expect(result.code).toBe(1);
    expect(hasControlCharacters(result.stderr.replace(/\n/g, ''))).toBe(false);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^error: cannot use state directory .*: status\.json: .*\\x1b\[2J\\x1b\]0;pwned\\x07/);
    expect(lines[1]).toBe('hint: create it and make it writable for the service user');
  });
});
