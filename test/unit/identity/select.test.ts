// Which identity the flags select, and the loud warning for dev identities off loopback.

import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/logger.js';
import { DEV_SERVER_ID } from '../../../src/identity/dev.js';
import { DEFAULT_RENEWAL_POLICY } from '../../../src/renewal/policy.js';
import { createIdentitySource, isLoopbackHost, resolveProvider } from '../../../src/identity/select.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-select-');
afterAll(() => tmp.cleanup());

describe('resolveProvider', () => {
  it('uses the dev identity with no flags on loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(resolveProvider({ ca: [] }, host)).toBe('dev');
  });

  it('uses files when --cert and --key are given', () => {
    expect(resolveProvider({ cert: 'c', key: 'k', ca: ['a'] }, '0.0.0.0')).toBe('files');
  });

  it('refuses to guess an identity on a non-loopback address', () => {
    expect(() => resolveProvider({ ca: [] }, '0.0.0.0')).toThrow(
      'no identity configured for non-loopback address 0.0.0.0',
    );
    expect(() => resolveProvider({ ca: [] }, 'ap.example.com')).toThrow(/no identity configured/);
  });

  it('treats only loopback addresses as loopback', () => {
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
    expect(isLoopbackHost('localhost.example.com')).toBe(false);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
  });
});

describe('createIdentitySource with --identity dev', () => {
  it('warns loudly on a non-loopback address and still serves the dev identity', async () => {
    const lines: string[] = [];
    const source = await createIdentitySource(
      { identity: 'dev', ca: [] },
      {
        role: 'access-point',
        name: 'ap',
        host: '0.0.0.0',
        devCaDir: path.join(tmp.dir, 'dev-ca'),
        policy: DEFAULT_RENEWAL_POLICY,
        clock: systemClock,
        logger: createLogger({ write: (l) => lines.push(l) }),
      },
    );
    expect(lines[0]).toMatch(/^warn: INSECURE: dev identity on a non-loopback address/);
    expect(source.current().spiffeId).toBe(DEV_SERVER_ID);
    expect(source.current().facts.sans.ips).toContain('127.0.0.1');
    await source.close();
  });

  it('shares one dev CA between processes: two identities verify against each other', async () => {
    const ctx = {
      host: '127.0.0.1',
      devCaDir: path.join(tmp.dir, 'shared-ca'),
      policy: DEFAULT_RENEWAL_POLICY,
      clock: systemClock,
      logger: createLogger({ write: () => {} }),
    };
    const [ap, exec] = await Promise.all([
      createIdentitySource({ ca: [] }, { ...ctx, role: 'access-point', name: 'ap' }),
      createIdentitySource({ ca: [] }, { ...ctx, role: 'executor', name: 'worker 1' }),
    ]);
    expect(exec.current().spiffeId).toBe('spiffe://ah-dev.local/ah/agent/worker-1');
    expect(ap.current().bundlePem).toBe(exec.current().bundlePem);
    const leaf = exec.current().chain[0];
    expect(leaf?.verify(ap.current().bundle[0]!.publicKey)).toBe(true);
    await Promise.all([ap.close(), exec.close()]);
  });
});
