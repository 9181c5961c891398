#!/usr/bin/env node
// Entry point of the `ah` binary: run the command line, exit with its status.
import { forDisplay } from '../core/escape.js';
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Whatever was thrown, its text is one escaped line, like every other error line.
    process.stderr.write(
      `error: internal error: ${forDisplay(String(e))}\nhint: please report this with the debug log (--log-level debug)\n`,
    );
    process.exit(1);
  },
);
