import { defineConfig } from 'vitest/config';

// Three tiers, one run (`vitest run` runs them all; `--project <name>` runs one):
// - unit: in-process only. No child processes (no spawn or exec of any program, openssl included)
//   and no built code; sockets only where the module under test is itself a server or client, in
//   this process, on 127.0.0.1 or a unix socket. The fast loop: seconds, no build needed.
// - integration: real processes (the built CLI, openssl, strace, systemd tools) and real TLS and
//   gRPC on 127.0.0.1. Needs `npm run build` first.
// - cli: the command line, through main(argv, io) in this process (test/support/cli.ts; no build
//   needed). The built binary is run as a real process by the integration tests.
// All three share one pool of two forked workers (the machine has 2 cores; vitest runs projects
// with the same worker count side by side). Forks, not threads, for unit too: tests set the umask,
// which a worker thread may not, and threads measured slower here (20 s against 12 s for unit).
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'cli', include: ['test/cli/**/*.test.ts'] },
      },
    ],
  },
});
