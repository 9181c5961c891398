// Turns the identity flags shared by access-point and enroll into a running identity source.

import type { Clock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { defaultDevCaDir } from '../core/paths.js';
import type { IdentitySource } from '../identity/identity.js';
import { createIdentitySource, resolveProvider, type IdentityFlags, type Role } from '../identity/select.js';
import { DEFAULT_RENEWAL_POLICY, type RenewalPolicy } from '../renewal/policy.js';
import type { CliIo } from './io.js';
import { parseDurationFlag, parseProvider, parseSpiffeIdFlag, parseThreshold, requireReadableFile } from './options.js';
import { resolveWorkloadSocket } from '../identity/workload-endpoint.js';
import type { IdentityFlagValues } from './shared-flags.js';

export interface ParsedIdentityFlags {
  flags: IdentityFlags;
  policy: RenewalPolicy;
  devCertTtlMs: number;
}

/** Validates the identity flags (usage errors, exit 2) before anything starts. */
export function parseIdentityFlags(values: IdentityFlagValues, env: NodeJS.ProcessEnv): ParsedIdentityFlags {
  const pick = (a: string | undefined, b: string | undefined, name: string): string | undefined => {
    if (a !== undefined && b !== undefined && a !== b) throw new AhError('USAGE', { reason: `--${name} and --${name}-file disagree; give one` });
    return a ?? b;
  };
  const cert = pick(values.cert, values.certFile, 'cert');
  const key = pick(values.key, values.keyFile, 'key');
  const ca = [...values.ca, ...values.caFile];
  const identity = values.identity === undefined ? undefined : parseProvider(values.identity);
  const threshold = parseThreshold(values.renewalThreshold, '--renewal-threshold');
  const devCertTtlMs = parseDurationFlag(values.devCertTtl, '--dev-cert-ttl', 10_000);
  for (const file of [cert, key, ...ca]) if (file !== undefined) requireReadableFile(file);
  const spiffeFlagGiven = values.spiffeSocket !== undefined || values.spiffeHint !== undefined || values.spiffeId !== undefined || values.spiffeWait === true;
  const spiffe =
    identity === 'spiffe' || (identity === undefined && spiffeFlagGiven)
      ? {
          spiffeSocket: resolveWorkloadSocket(values.spiffeSocket, env),
          ...(values.spiffeHint === undefined ? {} : { spiffeHint: values.spiffeHint }),
          ...(values.spiffeId === undefined ? {} : { spiffeId: parseSpiffeIdFlag(values.spiffeId, '--spiffe-id') }),
          spiffeWait: values.spiffeWait === true,
        }
      : {};
  if (spiffeFlagGiven && identity !== undefined && identity !== 'spiffe') {
    throw new AhError('USAGE', { reason: `--spiffe-* flags belong to --identity spiffe, not --identity ${identity}` });
  }
  return {
    flags: { ...(identity ? { identity } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ca, ...spiffe },
    // The floor between renewals scales down for short test certificates but never below a second.
    policy: { ...DEFAULT_RENEWAL_POLICY, threshold, floorMs: Math.max(1_000, Math.min(DEFAULT_RENEWAL_POLICY.floorMs, devCertTtlMs / 10)) },
    devCertTtlMs,
  };
}

export function providerFor(parsed: ParsedIdentityFlags, host: string): ReturnType<typeof resolveProvider> {
  return resolveProvider(parsed.flags, host);
}

export function startIdentitySource(
  parsed: ParsedIdentityFlags,
  context: { role: Role; name: string; host: string; io: CliIo; clock: Clock; logger: Logger },
): Promise<IdentitySource> {
  return createIdentitySource(parsed.flags, {
    role: context.role,
    name: context.name,
    host: context.host,
    devCaDir: defaultDevCaDir(context.io.env),
    devCertTtlMs: parsed.devCertTtlMs,
    policy: parsed.policy,
    clock: context.clock,
    logger: context.logger.child('identity'),
  });
}
