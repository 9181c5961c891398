import { describe, expect, it } from 'vitest';
import { helloProblem, labelsProblem } from '../../../src/protocol/hello-rules.js';
import type { Hello } from '../../../src/protocol/fleet-protocol.js';

const hello = (fields: Partial<Hello>): Hello => ({
  name: 'worker-1',
  labels: {},
  version: '0.1.0',
  host: null,
  heartbeat_interval_ms: 5_000,
  ...fields,
});
const host = {
  hostname: 'worker-1.example.org',
  os: 'linux',
  os_release: '6.1.0-28-amd64',
  arch: 'x64',
  cpus: 8,
  memory_bytes: 1,
};

describe('helloProblem', () => {
  it('accepts what a real executor sends, including names in other scripts', () => {
    expect(helloProblem(hello({ host, labels: { rack: 'b4', zone: 'Zürich', team: '東京' } }))).toBeUndefined();
  });

  it.each([
    [{ name: 'x'.repeat(257) }, 'name is longer than 256'],
    [{ name: 'a\rb' }, 'name contains control characters'],
    [{ name: 'a\u009bb' }, 'name contains control characters'],
    [{ name: 'legit\u200f\u061c' }, 'name contains control characters'],
    [
      { name: 'db-prod-1' + ' '.repeat(40) + 'spiffe://example.org/ah/agent/db-prod-1   online' },
      'name has leading, trailing or repeated spaces',
    ],
    [{ name: ' padded' }, 'name has leading, trailing or repeated spaces'],
    [{ version: 'v'.repeat(65) }, 'version is longer than 64'],
    [{ name: 42 as unknown as string }, 'name is not text'],
    [{ host: { ...host, hostname: 'h'.repeat(254) } }, 'host name is longer than 253'],
    [{ host: { ...host, os_release: '6.1\u001b[0m' } }, 'host os release contains control characters'],
    [{ host: { ...host, arch: 'a'.repeat(33) } }, 'host arch is longer than 32'],
    [{ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, 'more than 64 labels'],
  ])('refuses %j: %s', (fields, problem) => {
    expect(helloProblem(hello(fields))).toBe(problem);
  });
});

describe('labelsProblem', () => {
  it('does not repeat a hostile key in its answer', () => {
    expect(labelsProblem({ 'k\u001b[2J': 'v' })).toBe('a label key contains control characters');
    expect(labelsProblem({ '': 'v' })).toBe('a label key is empty');
    expect(labelsProblem({ k: 'v'.repeat(257) })).toBe('a label value is longer than 256');
    expect(labelsProblem({ k: '' })).toBeUndefined();
  });
});
