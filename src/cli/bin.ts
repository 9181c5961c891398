#!/usr/bin/env node
// Entry point of the `ah` binary: run the command line, exit with its status.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: internal error: ${String(e)}\nhint: please report this with the debug log (--log-level debug)\n`);
    process.exit(1);
  },
);
