// Which agents have used a state directory, and which runs there now: from their status files and
// pid locks, read without following links and without writing anything.

import path from 'node:path';
import { readFileNoFollow } from '../core/no-follow.js';
import { processAlive } from '../core/pid-lock.js';
import { EXECUTOR_STATUS_FILE } from '../executor/executor-status.js';
import { ACCESS_POINT_STATUS_FILE } from '../fleet/access-point-status.js';

const ROLES = [
  { role: 'access-point', label: 'access point', statusFile: ACCESS_POINT_STATUS_FILE, unit: 'ah-access-point' },
  { role: 'executor', label: 'executor', statusFile: EXECUTOR_STATUS_FILE, unit: 'ah-executor' },
] as const;

export interface AgentFound {
  label: string;
  unit: string;
  /** The pid of the process holding the state directory's lock, when it is alive. */
  pid: number | undefined;
  /** The identity provider its status file names, if it says. */
  provider: string | undefined;
}

/** What the state directory says about the agents that use it: which ran there, which runs now (by its pid lock). */
export async function agentsIn(dir: string): Promise<AgentFound[]> {
  const found: AgentFound[] = [];
  for (const { role, label, statusFile, unit } of ROLES) {
    const pid = Number.parseInt(await readFileNoFollow(path.join(dir, `${role}.pid`)).catch(() => ''), 10);
    const alive = processAlive(pid) ? pid : undefined;
    // A status file that does not parse still says an agent ran here.
    const status = await readFileNoFollow(path.join(dir, statusFile)).then(
      (text): { identity?: { provider?: unknown } | null } => {
        try {
          return JSON.parse(text) as { identity?: { provider?: unknown } | null };
        } catch {
          return {};
        }
      },
      () => undefined,
    );
    if (alive === undefined && status === undefined) continue;
    const provider = typeof status?.identity?.provider === 'string' ? status.identity.provider : undefined;
    found.push({ label, unit, pid: alive, provider });
  }
  return found;
}
