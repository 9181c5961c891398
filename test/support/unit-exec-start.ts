// The ExecStart= of a shipped systemd unit, in the two forms the units use: `/usr/bin/ah <args>`
// (node on its defaults) and `node <--flags> /usr/bin/ah <args>` (node with a runtime profile, the
// executor's). The unit tests read node's flags from it and rewrite it to run the built program.

export interface UnitExecStart {
  /** node's own flags before the program; empty when the unit runs `ah` on Node's defaults. */
  nodeFlags: string[];
  /** Everything after /usr/bin/ah, as written (systemd variables such as $AH_EXECUTOR_ARGS kept). */
  ahArgs: string;
}

const EXEC_START = /^ExecStart=(?:node((?: --[\w-]+(?:=\S+)?)+) )?\/usr\/bin\/ah (.+)$/m;

/** The unit's ExecStart= line; any other form is an error naming the unit. */
export function parseExecStart(unitText: string, unit: string): UnitExecStart {
  const m = EXEC_START.exec(unitText);
  if (!m) throw new Error(`${unit}: no ExecStart= of the form "/usr/bin/ah ..." or "node <--flags> /usr/bin/ah ..."`);
  return { nodeFlags: (m[1] ?? '').split(' ').filter(Boolean), ahArgs: m[2] as string };
}

/** The unit text with ExecStart= running `node` (this one) and `ah` (the built one) with the same flags and arguments. */
export function withBuiltProgram(unitText: string, unit: string, nodePath: string, ahBin: string): string {
  const { nodeFlags, ahArgs } = parseExecStart(unitText, unit);
  const command = [nodePath, ...nodeFlags, ahBin, ahArgs].join(' ');
  return unitText.replace(EXEC_START, () => `ExecStart=${command}`);
}
