// examples/vault: the Vault set-up creates every PKI role, policy and AppRole that the env files
// and the walk-through use, and each policy lets its AppRole sign with the role its machine uses.
// Read as a Vault operator would paste it: the commands in the README's bash blocks.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/repo.js';

const dir = path.join(REPO_ROOT, 'examples', 'vault');
const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
/** The bash blocks, with the README's list indentation and line continuations undone. */
const shell = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)]
  .map((m) => (m[1] as string).replace(/^ {3}/gm, '').replace(/\\\n\s*/g, ''))
  .join('\n');
const envArgs = ['access-point.env', 'executor.env'].map((f) => readFileSync(path.join(dir, f), 'utf8'));

const all = (re: RegExp, text: string): string[] => [...text.matchAll(re)].map((m) => m[1] as string);

/** Policy name -> its HCL body, from `vault policy write NAME - <<'EOF' ... EOF`. */
const policies = new Map(
  [...shell.matchAll(/^vault policy write (\S+) - <<'EOF'\n([\s\S]*?)\nEOF$/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ]),
);
/** AppRole name -> its token policies. */
const approles = new Map(
  [...shell.matchAll(/^vault write auth\/approle\/role\/([\w-]+) (.*)$/gm)].map((m) => [
    m[1] as string,
    (/token_policies=(\S+)/.exec(m[2] as string)?.[1] ?? '').split(','),
  ]),
);
const pkiRoles = new Set(all(/^vault write pki_int\/roles\/([\w-]+) /gm, shell));

describe('examples/vault', () => {
  const usedRoles = [...new Set([...envArgs, shell].flatMap((text) => all(/--vault-role (\S+)/g, text)))];

  it('uses the roles of both machines', () => {
    expect(usedRoles.sort()).toEqual(['access-point', 'executor']);
  });

  it.each(['access-point', 'executor'])('creates the PKI role %s that is used', (role) => {
    expect(pkiRoles.has(role), `vault write pki_int/roles/${role}`).toBe(true);
  });

  it('creates every policy an AppRole names, and enables what it writes to', () => {
    expect(approles.size).toBeGreaterThan(0);
    for (const [approle, names] of approles)
      for (const name of names) expect(policies.has(name), `${approle} needs policy ${name}`).toBe(true);
    expect(shell).toMatch(/^vault auth enable approle$/m);
    expect(shell).toMatch(/^vault secrets enable -path=pki_int pki$/m);
    // pki_int must hold an issuing CA before it can sign anything.
    expect(shell).toMatch(/^vault write pki_int\/intermediate\/set-signed /m);
  });

  it.each(['access-point', 'executor'])('has an AppRole whose policies let it sign with the %s role', (role) => {
    const signs = [...approles.values()].some((names) =>
      names.some((name) =>
        new RegExp(`path "pki_int/sign/${role}" \\{ capabilities = \\["update"\\] \\}`).test(policies.get(name) ?? ''),
      ),
    );
    expect(signs).toBe(true);
  });

  it('hands out credentials only of AppRoles it creates', () => {
    const used = all(/auth\/approle\/role\/([\w-]+)\/(?:role-id|secret-id)/g, shell);
    expect(used.length).toBeGreaterThan(0);
    for (const approle of used) expect(approles.has(approle), approle).toBe(true);
  });

  it('allows each role only the SPIFFE IDs its machine asks for', () => {
    for (const text of envArgs) {
      const role = /--vault-role (\S+)/.exec(text)?.[1] as string;
      const uri = /--vault-uri-san (\S+)/.exec(text)?.[1] as string;
      const allowed = new RegExp(`^vault write pki_int/roles/${role} .*allowed_uri_sans='([^']+)'`, 'm').exec(
        shell,
      )?.[1] as string;
      const glob = new RegExp(`^${allowed.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
      expect(glob.test(uri), `${uri} under ${allowed}`).toBe(true);
    }
  });
});
