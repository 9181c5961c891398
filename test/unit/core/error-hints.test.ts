// Hints name what the operator actually has (the port tried, the directory of the missing file),
// not the guide's example values, and still read sensibly when a fact is missing.

import { describe, expect, it } from 'vitest';
import { AhError, ERROR_SPECS, fromSerialized, type ErrorCode } from '../../../src/core/errors.js';

describe('hints from facts', () => {
  it.each<[ErrorCode, Record<string, string>, string]>([
    ['CONNECTION_REFUSED', { target: 'ap.example.com:5433' }, 'ss -tlnp | grep 5433; check firewalls for 5433/tcp'],
    ['CONNECTION_REFUSED', { target: '[::1]:7000' }, 'ss -tlnp | grep 7000'],
    ['NAME_NOT_RESOLVED', { host: 'ap.internal' }, 'dig ap.internal'],
    ['FILE_NOT_FOUND', { path: '/etc/ah/cert.pem' }, 'ls -la /etc/ah'],
    ['FILE_NOT_FOUND', { path: '/cert.pem' }, 'ls -la /'],
    ['FILE_NOT_FOUND', { path: 'cert.pem' }, 'ls -la .'],
    ['FILE_PERMISSION_DENIED', { path: '/etc/ah/key.pem' }, 'chown agent-harbor:agent-harbor /etc/ah/key.pem'],
    ['CERT_INVALID', { path: '/etc/ah/cert.pem', reason: 'x' }, 'openssl x509 -in /etc/ah/cert.pem -noout -text'],
    ['UNSAFE_FILE', { path: '/var/lib/ah/registry.json', reason: 'it is a symbolic link' }, 'ls -la /var/lib/ah'],
    ['LISTEN_FAILED', { address: '0.0.0.0:4533', reason: 'address already in use' }, 'ss -tlnp | grep 4533'],
    ['LISTEN_FAILED', { address: '/var/lib/ah/control.sock', reason: 'x' }, 'ss -xlp | grep /var/lib/ah/control.sock'],
    [
      'VAULT_ISSUE_FAILED',
      { reason: 'x', mount: 'pki_fleet', role: 'executor' },
      'vault read pki_fleet/roles/executor',
    ],
  ])('%s with %j says %s', (code, facts, part) => {
    expect(new AhError(code, facts).hint).toContain(part);
  });

  it('keeps no example port or directory placeholder in a hint whose facts are given', () => {
    expect(new AhError('CONNECTION_REFUSED', { target: '10.0.0.1:5433' }).hint).not.toContain('4433');
    expect(new AhError('FILE_NOT_FOUND', { path: '/etc/ah/ca.pem' }).hint).not.toContain('<dir>');
  });

  it('falls back to a placeholder, not to a wrong value, when a fact is missing or is a label', () => {
    expect(new AhError('CERT_INVALID', { path: 'dev CA', reason: 'x' }).hint).toContain('openssl x509 -in <file>');
    expect(new AhError('VAULT_ISSUE_FAILED', { reason: 'x' }).hint).toBe(
      'check the PKI role: vault read pki_int/roles/<role>',
    );
  });

  it('rebuilds the same hint on the other side of a process boundary', () => {
    const original = new AhError('CONNECTION_REFUSED', { target: 'ap:5433' });
    expect(fromSerialized(original.toJSON()).hint).toBe(original.hint);
  });

  it('lets a given hint win over the template', () => {
    expect(new AhError('FILE_NOT_FOUND', { path: '/x/y' }, { hint: 'do this' }).hint).toBe('do this');
  });

  it('gives every code a hint, fixed or made from facts', () => {
    for (const code of Object.keys(ERROR_SPECS) as ErrorCode[])
      expect(new AhError(code).hint.length, code).toBeGreaterThan(10);
  });
});
