// The `ah` command line. bin.ts runs it and exits with its status (the only other exit is a
// second stop signal, in daemon.ts). Each command module is loaded only
// when it runs, so `ah agent status` does not pay for gRPC and X.509 start-up.

import { Command, CommanderError, Option } from 'commander';
import { AH_VERSION } from '../core/version.js';
import { processIo, type CliIo } from './io.js';
import { printError } from './print-error.js';
import { addCommonFlags, addIdentityFlags } from './shared-flags.js';
import { defaultStateDir } from '../core/paths.js';
// Types only: each command's module is loaded when that command runs (start-up cost and memory).
// commander hands options over untyped; the types below are what the option definitions declare.
import type { AccessPointFlags } from './access-point-command.js';
import type { AuditVerifyFlags } from './audit-verify-command.js';
import type { CaInitFlags } from './ca-command.js';
import type { DoctorFlags } from './doctor-command.js';
import type { EnrollFlags } from './enroll-command.js';
import type { ControlFlags } from './fleet-commands.js';
import type { StateImportFlags } from './state-import-command.js';
import type { StatusFlags } from './status-command.js';
import type { TokenCreateFlags } from './token-commands.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Where the fleet's etcd is: every command that reads or writes it takes the same flags. */
function addEtcdConnectionFlags(command: Command): Command {
  return command
    .option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated: https://host:2379,...')
    .option('--etcd-ca <file>', 'CA bundle that signed the etcd servers')
    .option('--etcd-cert <file>', 'client certificate for etcd (its CN is the etcd user)')
    .option('--etcd-key <file>', 'key of --etcd-cert')
    .option('--etcd-prefix <path>', 'key prefix of this fleet in etcd (default: /ah/v1)');
}

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('ah')
    .description('ah agent: fleet identity and executor enrollment over mutual TLS')
    .version(AH_VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });

  const agent = program.command('agent').description('run and inspect fleet agents').exitOverride();
  const run = (load: () => Promise<number>): Promise<void> => load().then(setExit);

  addCommonFlags(
    addIdentityFlags(
      addEtcdConnectionFlags(agent.command('access-point'))
        .description('serve the fleet port: executors enroll here over mutual TLS')
        .option('--fleet-listen <host:port>', 'address of the fleet port', '0.0.0.0:4433')
        .option(
          '--executor-san-uri-prefix <prefix>',
          'URI SAN prefix executors must have (default: spiffe://<trust domain>/ah/agent/)',
        )
        .option(
          '--admin-listen <host:port>',
          "HTTP endpoint for /healthz, /readyz and /metrics (read-only); 'off' to disable",
          '127.0.0.1:4434',
        )
        .option(
          '--control-socket <path>',
          "unix socket of the control API (executors, revoke, unrevoke), mode 0660; 'off' to disable (default: <state-dir>/control.sock)",
        )
        .option('--max-executors <n>', 'enrolled executors at most', '10000')
        .option('--max-connections <n>', 'open connections at most (before TLS); must fit the open file limit', '20000')
        .option(
          '--max-connections-per-address <n>',
          'open connections at most from one IPv4 address or IPv6 /64 (raise it behind a NAT)',
          '256',
        )
        .option(
          '--handshake-rate <per-second>',
          'new connections per second from one address (burst: twice that)',
          '100',
        )
        .option(
          '--max-handshakes <n>',
          'TLS handshakes at once; more connections wait their turn (reconnect storms)',
          '64',
        )
        .option(
          '--store <kind>',
          'where the fleet state is kept: file (this state dir) or etcd (several access points)',
        )
        .option('--etcd-lease-ttl <seconds>', "how long a killed access point's executors stay held (default: 10)")
        .option('--access-point-id <id>', 'name of this access point in the fleet (default: <host name>:<fleet port>)')
        .option(
          '--revocation-freshness <duration>',
          'with --store etcd: refuse new enrollments once revocations are unconfirmed this long (fail closed)',
          '30s',
        )
        .option(
          '--fleet-ca-cert <file>',
          'fleet CA certificate that issues joining executors, then its chain up to the root',
        )
        .option('--fleet-ca-key <file>', 'key of --fleet-ca-cert (mode 0600, owned by the service user)')
        .option('--join-cert-ttl <duration>', 'lifetime of certificates issued to joining executors (5m to 24h)', '4h')
        .exitOverride(),
      'access-point',
    ),
  ).action((flags: AccessPointFlags, command: Command) =>
    run(async () =>
      (await import('./access-point-command.js')).runAccessPoint(
        { ...flags, maxConnectionsGiven: command.getOptionValueSource('maxConnections') !== 'default' },
        io,
      ),
    ),
  );

  addCommonFlags(
    addIdentityFlags(
      agent
        .command('enroll')
        .description('enroll this machine as an executor and stay connected')
        .option(
          '--remote-server <url>',
          "access point, https://host:4433; repeatable: the fleet's access points, tried in a random order",
          collect,
          [] as string[],
        )
        .option('--name <name>', 'friendly name shown in the fleet (default: host name)')
        .option('--label <key=value>', 'label sent to the access point; repeatable', collect, [] as string[])
        .option('--expected-server-id <spiffe-id>', "the access point's SPIFFE ID (instead of host name checks)")
        .option('--heartbeat-interval <duration>', 'time between heartbeats', '5s')
        .option('--connect-timeout <duration>', 'give up on one connection attempt after this long', '30s')
        .option('--admin-listen <host:port>', 'serve /healthz and /metrics here (off unless given)')
        .option(
          '--join-token-file <file|->',
          'join the fleet with the token in this file (mode 0600; - reads stdin; or AH_JOIN_TOKEN); never the token itself',
        )
        .option(
          '--ca-pin <sha256:hex>',
          "the fleet root CA's pin, checked before the token is sent; repeatable",
          collect,
          [] as string[],
        )
        .exitOverride(),
    ),
  ).action((flags: EnrollFlags) => run(async () => (await import('./enroll-command.js')).runEnroll(flags, io)));

  const adminFlags = (c: Command): Command =>
    c
      .option(
        '--state-dir <dir>',
        "the access point's state directory (its control socket is there)",
        defaultStateDir(),
      )
      .option('--control-socket <path>', "the access point's control socket (default: <state-dir>/control.sock)")
      // Gone: the fleet is no longer operated over HTTP. Kept hidden to say so instead of "unknown option".
      .addOption(new Option('--admin <host:port>').hideHelp());
  adminFlags(
    agent
      .command('executors')
      .description('list the fleet: name, id, state, last seen, certificate expiry')
      .option('--json', 'print JSON')
      .exitOverride(),
  ).action((flags: ControlFlags) => run(async () => (await import('./fleet-commands.js')).runExecutors(flags, io)));
  adminFlags(
    agent
      .command('revoke')
      .argument('<spiffe-id>')
      .description('disconnect an executor now and refuse it from now on')
      .option('--reason <text>', 'why (shown to the executor)')
      .exitOverride(),
  ).action((id: string, flags: ControlFlags) =>
    run(async () => (await import('./fleet-commands.js')).runRevoke(id, flags, io)),
  );
  adminFlags(
    agent.command('unrevoke').argument('<spiffe-id>').description('let a revoked executor back in').exitOverride(),
  ).action((id: string, flags: ControlFlags) =>
    run(async () => (await import('./fleet-commands.js')).runUnrevoke(id, flags, io)),
  );
  // `ah agent token create|list|revoke`: join tokens, through the control socket (docs/JOIN-TOKENS.md).
  const token = agent
    .command('token')
    .description('join tokens: a new machine joins the fleet with one')
    .exitOverride()
    .action(() => {
      token.outputHelp({ error: true });
      setExit(2);
    });
  adminFlags(
    token
      .command('create')
      .description('mint a join token for one executor name; printed once, stored hashed')
      .option('--name <name>', 'the executor name it is for: spiffe://<trust domain>/ah/agent/<name>')
      .option('--ttl <duration>', 'how long it can be used, 1m to 24h (default: 1h)')
      .option('--uses <n>', 'how many executors it admits, 1 to 100 (default: 1)')
      .option('--json', 'print JSON'),
  )
    .exitOverride()
    .allowExcessArguments(false)
    .action((flags: TokenCreateFlags) =>
      run(async () => (await import('./token-commands.js')).runTokenCreate(flags, io)),
    );
  adminFlags(
    token
      .command('list')
      .description('list join tokens: id, name, state, uses left, expiry')
      .option('--json', 'print JSON'),
  )
    .exitOverride()
    .allowExcessArguments(false)
    .action((flags: ControlFlags) => run(async () => (await import('./token-commands.js')).runTokenList(flags, io)));
  adminFlags(token.command('revoke').argument('<id>').description('refuse a join token from now on'))
    .exitOverride()
    .allowExcessArguments(false)
    .action((id: string, flags: ControlFlags) =>
      run(async () => (await import('./token-commands.js')).runTokenRevoke(id, flags, io)),
    );

  addIdentityFlags(
    agent
      .command('doctor')
      .description(
        "run the troubleshooting guide's checks; with --remote-server as an executor, else as an access point",
      )
      .option(
        '--remote-server <url>',
        'check enrollment with this access point, https://host:4433; repeatable: each one is checked',
        collect,
        [] as string[],
      )
      .option('--name <name>', 'executor name (dev identity)')
      .option('--expected-server-id <spiffe-id>', "the access point's SPIFFE ID")
      .option('--connect-timeout <duration>', 'per-check network timeout', '5s')
      .option('--state-dir <dir>', 'state directory to check', defaultStateDir())
      .exitOverride(),
  ).action((flags: DoctorFlags) => run(async () => (await import('./doctor-command.js')).runDoctor(flags, io)));
  addEtcdConnectionFlags(agent.command('audit-verify'))
    .description(
      "check the access point's audit log: the chain, its end against the recorded head (and, with --etcd-endpoints, its anchor in etcd), gap entries; exit 1 on any tampering",
    )
    .option('--state-dir <dir>', "the access point's state directory", defaultStateDir())
    .option('--file <path>', 'audit log file (default: <state-dir>/audit.log)')
    .option('--head <path>', 'head record (default: next to the log file, audit-head.json for audit.log)')
    .option('--expect-head <seq:hash>', "also require this entry, e.g. from an 'audit chain head' line in the journal")
    .option(
      '--accept-gap <seq>',
      'a tampering gap entry already investigated: warn about it instead of failing; repeatable',
      collect,
      [] as string[],
    )
    .option(
      '--access-point-id <id>',
      "with --etcd-endpoints: whose anchor to compare with (default: the id in the log's last entry)",
    )
    .exitOverride()
    .action((flags: AuditVerifyFlags) =>
      run(async () => (await import('./audit-verify-command.js')).runAuditVerify(flags, io)),
    );

  // `ah agent state import`: a single access point's file store into etcd (docs/ETCD.md).
  const state = agent
    .command('state')
    .description("move a fleet's state between stores")
    .exitOverride()
    // `ah agent state` alone: show what there is, and fail like any incomplete command.
    .action(() => {
      state.outputHelp({ error: true });
      setExit(2);
    });
  addEtcdConnectionFlags(
    state
      .command('import')
      .description(
        "copy a stopped access point's registry and revocations from its state directory into etcd (etcd's own records win)",
      )
      .option(
        '--state-dir <dir>',
        "the access point's state directory (registry.json, revocations.json)",
        defaultStateDir(),
      )
      .option('--dry-run', 'connect to etcd and print what would be written; write nothing')
      .option('--json', 'print the summary as JSON'),
  )
    .exitOverride()
    .allowExcessArguments(false)
    .action((flags: StateImportFlags) =>
      run(async () => (await import('./state-import-command.js')).runStateImport(flags, io)),
    );

  // `ah agent ca init`: a root and an intermediate for the fleet CA (docs/FLEET-CA.md).
  const ca = agent
    .command('ca')
    .description('make the fleet CA that access points issue joining executors certificates from')
    .exitOverride()
    .action(() => {
      ca.outputHelp({ error: true });
      setExit(2);
    });
  ca.command('init')
    .description('create a root CA and an intermediate signed by it, and print the root pin')
    .requiredOption(
      '--dir <dir>',
      'directory to write root.pem, root-key.pem, intermediate.pem, intermediate-key.pem, fleet-ca.pem',
    )
    .option(
      '--trust-domain <domain>',
      'trust domain of the fleet: executors get spiffe://<domain>/ah/agent/<name>',
      'example.org',
    )
    .option('--force', 'replace the files if they exist (the old CA and its pin are gone)')
    .exitOverride()
    .allowExcessArguments(false)
    .action((flags: CaInitFlags) => run(async () => (await import('./ca-command.js')).runCaInit(flags, io)));

  addCommonFlags(
    agent
      .command('status')
      .description('show the state of the agents in a state directory; exit 0 when healthy')
      .option('--json', 'print JSON')
      .option('--show-cert', 'print certificate details')
      .exitOverride(),
  ).action((flags: StatusFlags) => run(async () => (await import('./status-command.js')).runStatus(flags, io)));

  // Hidden: unknown options and extra arguments are errors, not silently ignored.
  for (const command of [program, agent, ...agent.commands]) command.allowExcessArguments(false);
  program.addOption(new Option('--no-color').hideHelp());
  return program;
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  // `ah` or `ah agent` alone: show what there is, and fail like any incomplete command.
  if (argv.length === 0 || (argv.length === 1 && argv[0] === 'agent')) {
    (argv.length === 0 ? program : (program.commands[0] as Command)).outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return 0;
      // commander printed "error: ..." already; add the hint line every error carries.
      io.err("hint: see 'ah agent <command> --help'");
      return 2;
    }
    return printError(io, e);
  }
}
