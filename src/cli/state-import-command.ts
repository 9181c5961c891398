// `ah agent state import`: moves a single access point's state (registry.json, revocations.json)
// into the fleet's etcd, before it and others start with --store etcd. Loaded only when it runs,
// so etcd3 is loaded here and nowhere else at start-up. The plan and the writes are in
// fleet/state/state-import.ts; this takes the state directory, talks to the operator, and prints.

import { systemClock } from '../core/clock.js';
import { escapeJsonControl, forDisplay } from '../core/escape.js';
import { AhError, isAhError } from '../core/errors.js';
import { acquirePidLock, type PidLock } from '../core/pid-lock.js';
import { checkTrustedDirectory } from '../core/trusted-directory.js';
import { etcdBase } from '../fleet/state/etcd-store.js';
import {
  applyImport,
  batchesOf,
  planImport,
  readEtcdState,
  readFileState,
  type ImportPlan,
  type ImportResult,
} from '../fleet/state/state-import.js';
import type { CliIo } from './io.js';
import { agentsIn } from './state-dir-agents.js';
import { parseEtcdConnection, type EtcdConnection, type EtcdConnectionFlagValues } from './store-flags.js';
import { openEtcdClient } from './store-from-flags.js';

export interface StateImportFlags extends EtcdConnectionFlagValues {
  stateDir: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The lock role of the access point (access-point-command.ts): its pid file in the state dir. */
const ACCESS_POINT_ROLE = 'access-point';
/** Skipped IDs listed one per line up to this many; --json lists them all. */
const SKIPPED_SHOWN = 20;

const inUse = (dir: string, pid: string): AhError =>
  new AhError(
    'STATE_DIR_IN_USE',
    { dir, role: 'access point', pid },
    {
      hint: `stop it first (systemctl stop ah-access-point, or kill ${pid}): the import must read a state directory that nothing writes to`,
      // Not a mistake in the command: it works once the access point is stopped.
      exit: 1,
    },
  );

/** The state directory's real path, checked as the access point checks it (nobody else may write there). */
async function stateDirOf(dir: string): Promise<string> {
  try {
    return await checkTrustedDirectory(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !isAhError(e)) throw new AhError('NOT_ENROLLED', { dir });
    throw e;
  }
}

/**
 * A real run holds the access point's own lock while it reads, so that no access point can start
 * on the directory meanwhile; a dry run writes nothing, not even the lock, and only looks.
 */
async function refuseIfRunning(stateDir: string, dryRun: boolean): Promise<PidLock | undefined> {
  if (dryRun) {
    const running = (await agentsIn(stateDir)).find((a) => a.unit === 'ah-access-point' && a.pid !== undefined);
    if (running?.pid !== undefined) throw inUse(stateDir, String(running.pid));
    return undefined;
  }
  try {
    return await acquirePidLock(stateDir, ACCESS_POINT_ROLE);
  } catch (e) {
    if (isAhError(e) && e.code === 'STATE_DIR_IN_USE') throw inUse(stateDir, e.facts.pid ?? '?');
    throw e;
  }
}

function printText(
  io: CliIo,
  at: { stateDir: string; where: string },
  plan: ImportPlan,
  result: ImportResult | undefined,
): void {
  const skipped = result?.skipped ?? plan.executors.skipped;
  io.out(`state import from ${forDisplay(at.stateDir)} into ${forDisplay(at.where)}`);
  if (result) {
    io.out(
      `executors: ${result.created.length} created, ${skipped.length} skipped (already in etcd, kept as they are)`,
    );
    io.out(`revocations: ${result.added.length} added, ${result.present.length} already in etcd`);
  } else {
    io.out(
      `executors: ${plan.executors.create.length} to create, ${skipped.length} to skip (already in etcd, kept as they are)`,
    );
    io.out(`revocations: ${plan.revocations.add.length} to add, ${plan.revocations.present.length} already in etcd`);
  }
  for (const id of skipped.slice(0, SKIPPED_SHOWN)) io.out(`  skipped: ${forDisplay(id)}`);
  if (skipped.length > SKIPPED_SHOWN)
    io.out(`  ... and ${skipped.length - SKIPPED_SHOWN} more (--json lists them all)`);
  if (result)
    io.out(
      `done in ${result.transactions} transaction(s); imported executors are offline until they connect to an access point on etcd`,
    );
  else io.out('dry run: nothing was written');
}

function printJson(
  io: CliIo,
  at: { stateDir: string; connection: EtcdConnection },
  plan: ImportPlan,
  result: ImportResult | undefined,
): void {
  const summary = {
    dryRun: result === undefined,
    stateDir: at.stateDir,
    etcd: { endpoints: at.connection.endpoints, prefix: at.connection.prefix },
    executors: {
      create: result ? result.created.length : plan.executors.create.length,
      skipped: result ? result.skipped : plan.executors.skipped,
    },
    revocations: {
      add: result ? result.added.length : plan.revocations.add.length,
      present: result ? result.present.length : plan.revocations.present.length,
    },
    transactions: result
      ? result.transactions
      : batchesOf(plan.revocations.add).length + batchesOf(plan.executors.create).length,
  };
  io.out(escapeJsonControl(JSON.stringify(summary, null, 2)));
}

export async function runStateImport(flags: StateImportFlags, io: CliIo): Promise<number> {
  const connection = parseEtcdConnection(flags, (line) => io.err(line), 'ah agent state import');
  const dryRun = flags.dryRun === true;
  const stateDir = await stateDirOf(flags.stateDir);
  const lock = await refuseIfRunning(stateDir, dryRun);
  try {
    // The files first: a torn one stops the import before etcd is even asked.
    const file = await readFileState(stateDir);
    const client = await openEtcdClient(connection);
    try {
      const base = etcdBase(connection.prefix);
      const ns = client.namespace(base);
      const where = `etcd ${connection.endpoints.join(',')} ${base}`;
      const plan = planImport(file, await readEtcdState(ns, where), new Date(systemClock.now()).toISOString());
      const result = dryRun ? undefined : await applyImport(ns, plan, where);
      if (flags.json) printJson(io, { stateDir, connection }, plan, result);
      else printText(io, { stateDir, where }, plan, result);
      return 0;
    } finally {
      client.close();
    }
  } finally {
    await lock?.release();
  }
}
