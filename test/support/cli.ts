// Runs the `ah` command line in this process: main(argv, io) with an io that captures what the
// command prints. For the CLI tests, which need no real process (the built binary is run as one
// by the integration tests). Anything a command writes around the io (its logger writes to
// stderr directly) is captured too, so "one error line and nothing else" means what it says.

import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `ah args...` through main(); `env` is added to this process's environment, as for a child. */
export async function runMain(args: string[], env: NodeJS.ProcessEnv = {}): Promise<MainResult> {
  let stdout = '';
  let stderr = '';
  const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);
  const io: CliIo = {
    out: (text) => void (stdout += line(text)),
    err: (text) => void (stderr += line(text)),
    env: { ...process.env, ...env },
  };
  const capture =
    (to: 'out' | 'err') =>
    (chunk: string | Uint8Array): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (to === 'out') stdout += text;
      else stderr += text;
      return true;
    };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture('out')),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture('err')),
  ];
  try {
    return { code: await main(args, io), stdout, stderr };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
