// The report `ah agent doctor` prints: one line per check, ok, FAIL (with the guide's error, its
// detail and hint) or skip, every value bounded and escaped; exit 0 only when every check passed.

import { AhError, toAhError } from '../core/errors.js';
import { forDisplay } from '../core/escape.js';
import type { CliIo } from './io.js';

export interface Outcome {
  name: string;
  ok: boolean;
  info?: string;
  error?: AhError;
}

export class Doctor {
  readonly outcomes: Outcome[] = [];

  constructor(private readonly io: CliIo) {}

  /** Runs one check, sync or async; a thrown error fails it (and, with `stop`, the checks that depend on it). */
  async check(name: string, run: () => string | void | Promise<string | void>): Promise<boolean> {
    try {
      const info = await run();
      this.outcomes.push({ name, ok: true, ...(info ? { info } : {}) });
      this.io.out(`ok    ${forDisplay(name)}${info ? `: ${forDisplay(info)}` : ''}`);
      return true;
    } catch (e) {
      const error = toAhError(e);
      this.outcomes.push({ name, ok: false, error });
      this.io.out(`FAIL  ${forDisplay(name)}: error: ${forDisplay(error.message)}`);
      if (error.detail) this.io.out(`      detail: ${forDisplay(error.detail)}`);
      this.io.out(`      hint: ${forDisplay(error.hint)}`);
      return false;
    }
  }

  /** Records a failure found without running anything (the check is the finding itself). */
  fail(name: string, error: AhError): Promise<boolean> {
    return this.check(name, () => Promise.reject(error));
  }

  skip(name: string, why: string): void {
    this.outcomes.push({ name, ok: false });
    this.io.out(`skip  ${forDisplay(name)}: ${forDisplay(why)}`);
  }
}

/** The closing line; the exit status. */
export function summary(doctor: Doctor, io: CliIo): number {
  const failed = doctor.outcomes.filter((o) => !o.ok).length;
  io.out(failed === 0 ? '\nall checks passed' : `\n${failed} check(s) failed or skipped`);
  return failed === 0 ? 0 : 1;
}
