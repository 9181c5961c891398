// `ah agent token create|list|revoke`: join tokens through the access point's control socket
// (docs/JOIN-TOKENS.md). The token is printed once, by create; nothing else ever shows it.

import os from 'node:os';
import { formatDuration, parseDuration, systemClock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { escapeJsonControl, forDisplay, textOf } from '../core/escape.js';
import { TOKEN_PREFIX } from '../fleet/join-token.js';
import { controlRequest } from './control-client.js';
import { fail, socketOf, type ControlFlags } from './fleet-commands.js';
import type { CliIo } from './io.js';

export interface TokenCreateFlags extends ControlFlags {
  name?: string;
  ttl?: string;
  uses?: string;
}

/** What the control socket answers for a token (token-routes.ts, tokenView). */
interface TokenView {
  token?: unknown;
  fleetPort?: unknown;
  caPin?: unknown;
  id: unknown;
  name: unknown;
  expiresAt: unknown;
  usesLeft: unknown;
  maxUses: unknown;
  createdBy: unknown;
  state: unknown;
}

const cell = (value: unknown): string => forDisplay(textOf(value, '-'));

/** Who asked, for the listing and the audit log: self-reported, like a commit author. */
function whoAmI(): string | undefined {
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return undefined;
  }
}

/** How the new machine reaches this access point and checks it, as far as the answer says. */
export interface JoinHint {
  /** The fleet port the access point listens on. */
  fleetPort?: number;
  /** The root pin of the access point's own chain (absent without a fleet CA of its own). */
  caPin?: string;
}

const PIN = /^sha256:[0-9a-f]{64}$/;

/**
 * The enroll command for the new machine. The address is this machine's host name (token create
 * runs on the access point's host, through its control socket) and the port the access point
 * listens on; the pin is that of the root the access point's own chain ends at. What the answer
 * does not say stays a placeholder.
 */
export function enrollCommand(file: string, hint: JoinHint = {}): string {
  const port = hint.fleetPort !== undefined && Number.isInteger(hint.fleetPort) ? hint.fleetPort : 4433;
  const host = hint.fleetPort === undefined ? '<access point>' : hostName();
  const pin = hint.caPin !== undefined && PIN.test(hint.caPin) ? hint.caPin : 'sha256:<pin from ah agent ca init>';
  return `ah agent enroll --remote-server https://${host}:${port} --join-token-file ${file} --ca-pin ${pin}`;
}

function hostName(): string {
  try {
    return forDisplay(os.hostname());
  } catch {
    return '<access point>';
  }
}

export async function runTokenCreate(flags: TokenCreateFlags, io: CliIo): Promise<number> {
  if (flags.name === undefined) throw new AhError('USAGE', { reason: '--name is required' });
  if (flags.ttl !== undefined && parseDuration(flags.ttl) === undefined)
    throw new AhError('USAGE', { reason: '--ttl must be a duration such as 1h or 30m' });
  const uses = flags.uses === undefined ? undefined : Number(flags.uses);
  if (flags.uses !== undefined && (!/^\d{1,3}$/.test(flags.uses) || uses === undefined))
    throw new AhError('USAGE', { reason: '--uses must be a whole number from 1 to 100' });
  const by = whoAmI();
  const { status, body } = await controlRequest(socketOf(flags), 'POST', '/v1/tokens', {
    name: flags.name,
    ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }),
    ...(uses === undefined ? {} : { uses }),
    ...(by ? { createdBy: by } : {}),
  });
  if (status !== 200) throw fail(status, body);
  const view = body as TokenView;
  const token = typeof view.token === 'string' && view.token.startsWith(TOKEN_PREFIX) ? view.token : undefined;
  if (!token) throw new AhError('USAGE', { reason: 'the control socket answered without a token' }, { exit: 1 });
  const file = 'join-token';
  const hint: JoinHint = {
    ...(typeof view.fleetPort === 'number' ? { fleetPort: view.fleetPort } : {}),
    ...(typeof view.caPin === 'string' ? { caPin: view.caPin } : {}),
  };
  const enroll = enrollCommand(file, hint);
  if (flags.json) {
    io.out(escapeJsonControl(JSON.stringify({ ...view, token, enroll }, null, 2)));
    return 0;
  }
  const left = Date.parse(textOf(view.expiresAt)) - systemClock.now();
  io.out(
    `join token ${cell(view.id)} for ${cell(view.name)}: ${cell(view.maxUses)} use(s), expires ${cell(view.expiresAt)}${Number.isFinite(left) ? ` (in ${formatDuration(left)})` : ''}`,
  );
  io.out('');
  io.out(`  ${token}`);
  io.out('');
  io.out('This is the only time it is shown: it is stored as a hash. On the new machine, put it in a');
  io.out('file only you can read (or in AH_JOIN_TOKEN), never in a command-line flag, and run:');
  io.out('');
  io.out(`  (umask 077; cat > ${file})   # paste the token, then Ctrl-D`);
  io.out(`  ${enroll}`);
  if (hint.fleetPort === undefined || hint.caPin === undefined) {
    io.out('');
    io.out('Fill in the address executors reach this access point at, and the pin ah agent ca init printed.');
  } else {
    io.out('');
    io.out(`Use the address executors reach this access point at if it is not ${hostName()}.`);
  }
  return 0;
}

export async function runTokenList(flags: ControlFlags, io: CliIo): Promise<number> {
  const { status, body } = await controlRequest(socketOf(flags), 'GET', '/v1/tokens');
  if (status !== 200) throw fail(status, body);
  const tokens = ((body as { tokens?: unknown }).tokens ?? []) as TokenView[];
  if (!Array.isArray(tokens)) throw fail(status, body);
  if (flags.json) {
    io.out(escapeJsonControl(JSON.stringify(tokens, null, 2)));
    return 0;
  }
  const header = ['ID', 'NAME', 'STATE', 'USES LEFT', 'EXPIRES', 'CREATED BY'];
  const rows = tokens.map((t) =>
    [t.id, t.name, t.state, `${textOf(t.usesLeft)}/${textOf(t.maxUses)}`, t.expiresAt, t.createdBy].map(cell),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const row of [header, ...rows])
    io.out(
      row
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}

export async function runTokenRevoke(id: string, flags: ControlFlags, io: CliIo): Promise<number> {
  // A whole token pasted by mistake: take its id, and never send the secret anywhere.
  const tokenId = id.startsWith(TOKEN_PREFIX) ? id.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 12) : id;
  const { status, body } = await controlRequest(socketOf(flags), 'DELETE', `/v1/tokens/${encodeURIComponent(tokenId)}`);
  if (status !== 200) throw fail(status, body);
  io.out(`join token ${cell(tokenId)} for ${cell((body as { name?: unknown }).name)} revoked`);
  return 0;
}
