// The access point's store flags: each mistake an operator can make is refused before anything
// starts, with the flag named; plain http is for loopback trials only, and said so.

import { describe, expect, it } from 'vitest';
import { defaultAccessPointId, parseStoreFlags, type StoreFlagValues } from '../../../src/cli/store-flags.js';

const parse = (flags: StoreFlagValues, warnings: string[] = []) =>
  parseStoreFlags(flags, 4433, (l) => warnings.push(l));
const refused = (flags: StoreFlagValues): string => {
  try {
    parse(flags);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};
const tls = { etcdCa: 'ca.pem', etcdCert: 'c.pem', etcdKey: 'k.pem' };

describe('--store and the etcd flags', () => {
  it('defaults to the file store, named after the host and fleet port', () => {
    expect(parse({})).toEqual({ kind: 'file', accessPointId: defaultAccessPointId(4433) });
    expect(defaultAccessPointId(4433, 'ap1.example.com')).toBe('ap1.example.com:4433');
    expect(defaultAccessPointId(9000, 'odd host\u001b')).toBe('odd-host-:9000');
  });

  it('takes etcd over mTLS with the defaults', () => {
    expect(
      parse({ store: 'etcd', etcdEndpoints: 'https://a:2379, https://b:2379', ...tls, accessPointId: 'ap1' }),
    ).toEqual({
      kind: 'etcd',
      accessPointId: 'ap1',
      endpoints: ['https://a:2379', 'https://b:2379'],
      tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' },
      prefix: '/ah/v1',
      leaseTtlSeconds: 10,
    });
  });

  it('allows plain http on loopback only, with a warning', () => {
    const warnings: string[] = [];
    expect(parse({ store: 'etcd', etcdEndpoints: 'http://127.0.0.1:2379' }, warnings)).toMatchObject({
      tls: undefined,
    });
    expect(warnings).toEqual([expect.stringMatching(/^warning: --etcd-endpoints uses plain http/)]);
    expect(refused({ store: 'etcd', etcdEndpoints: 'http://10.0.0.5:2379' })).toBe(
      '--etcd-endpoints http://10.0.0.5:2379: plain http is allowed on loopback only; use https',
    );
  });

  it.each([
    [{ etcdEndpoints: 'https://a:2379' }, '--etcd-endpoints needs --store etcd (the default store is file)'],
    [{ store: 'sqlite' }, 'invalid --store "sqlite": expected file or etcd'],
    [{ store: 'etcd' }, '--store etcd needs --etcd-endpoints https://host:2379[,...]'],
    [
      { store: 'etcd', etcdEndpoints: 'https://a' },
      'invalid --etcd-endpoints entry "https://a": the port is missing (etcd: 2379)',
    ],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379/x' },
      'invalid --etcd-endpoints entry "https://a:2379/x": only scheme, host and port',
    ],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379,https://a:2379', ...tls },
      '--etcd-endpoints lists https://a:2379 twice',
    ],
    [{ store: 'etcd', etcdEndpoints: 'https://a:2379,http://127.0.0.1:2379' }, '--etcd-endpoints mixes http and https'],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379' },
      '--etcd-endpoints https://... needs --etcd-ca (the CA that signed the etcd servers)',
    ],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379', etcdCa: 'ca', etcdCert: 'c' },
      '--etcd-cert and --etcd-key go together (the client certificate etcd maps to a user, and its key)',
    ],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379', ...tls, etcdPrefix: 'ah/v1' },
      'invalid --etcd-prefix "ah/v1": expected a path like /ah/v1 (letters, digits, . _ - between slashes, at most 128 characters)',
    ],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379', ...tls, etcdPrefix: '/ah//v1' },
      'invalid --etcd-prefix "/ah//v1": expected a path like /ah/v1 (letters, digits, . _ - between slashes, at most 128 characters)',
    ],
    [
      { store: 'etcd', etcdEndpoints: 'https://a:2379', ...tls, etcdLeaseTtl: '1' },
      'invalid --etcd-lease-ttl "1": expected whole seconds from 2 to 300',
    ],
    [
      { accessPointId: 'ap 1' },
      'invalid --access-point-id "ap 1": expected at most 128 letters, digits and . _ : @ [ ] - (e.g. ap1.example.com:4433)',
    ],
    [
      { accessPointId: 'ap\u001b[31m' },
      'invalid --access-point-id "ap\u001b[31m": expected at most 128 letters, digits and . _ : @ [ ] - (e.g. ap1.example.com:4433)',
    ],
  ] as Array<[StoreFlagValues, string]>)('refuses %j', (flags, reason) => {
    expect(refused(flags)).toBe(reason);
  });
});
