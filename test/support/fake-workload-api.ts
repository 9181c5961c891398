// A fake SPIFFE Workload API: a grpc-js server on a temp unix socket serving FetchX509SVID the way
// a SPIRE agent does: the security header is required (INVALID_ARGUMENT "security header missing
// from request" without it), "no identity issued" is PERMISSION_DENIED, every message is the full
// state, and new messages are pushed to open streams on rotation.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  WORKLOAD_HEADER,
  workloadServiceDefinition,
  type X509SVIDResponse,
} from '../../src/protocol/workload-protocol.js';
import { CertificateAuthority, type IssueOptions } from '../../src/x509/authority.js';

type Mode = { kind: 'serve'; response: X509SVIDResponse } | { kind: 'deny' } | { kind: 'refuse'; details: string };

export class FakeWorkloadApi {
  private server: grpc.Server | undefined;
  private mode: Mode = { kind: 'deny' };
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, X509SVIDResponse>>();
  /** Metadata of every call received, for protocol assertions. */
  readonly calls: grpc.Metadata[] = [];

  constructor(readonly socketPath: string) {}

  async start(): Promise<this> {
    rmSync(this.socketPath, { force: true });
    const server = new grpc.Server();
    server.addService(workloadServiceDefinition(), {
      FetchX509SVID: (call: grpc.ServerWritableStream<unknown, X509SVIDResponse>) => this.fetch(call),
      FetchX509Bundles: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not faked' }),
      FetchJWTSVID: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'not faked' }),
      FetchJWTBundles: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not faked' }),
      ValidateJWTSVID: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'not faked' }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    this.server = server;
    return this;
  }

  /** Serves `response` to new calls and pushes it to every open stream (a rotation). */
  serve(response: X509SVIDResponse): void {
    this.mode = { kind: 'serve', response };
    for (const stream of this.streams) stream.write(response);
  }

  /** "No identity issued": new calls, and open streams, end with PERMISSION_DENIED. */
  deny(): void {
    this.mode = { kind: 'deny' };
    for (const stream of [...this.streams]) this.endWith(stream, grpc.status.PERMISSION_DENIED, 'no identity issued');
  }

  /** Answers new calls with INVALID_ARGUMENT (a request the agent considers malformed). */
  refuse(details: string): void {
    this.mode = { kind: 'refuse', details };
  }

  /** Ends every open stream normally, as an agent does on some internal resets. */
  dropStreams(): void {
    for (const stream of [...this.streams]) {
      this.streams.delete(stream);
      stream.end();
    }
  }

  get openStreams(): number {
    return this.streams.size;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.streams.clear();
    server?.forceShutdown();
    rmSync(this.socketPath, { force: true });
  }

  private fetch(call: grpc.ServerWritableStream<unknown, X509SVIDResponse>): void {
    this.calls.push(call.metadata.clone());
    const header = call.metadata.get(WORKLOAD_HEADER);
    if (header.length !== 1 || header[0] !== 'true') {
      this.endWith(call, grpc.status.INVALID_ARGUMENT, 'security header missing from request');
      return;
    }
    if (this.mode.kind === 'deny') {
      this.endWith(call, grpc.status.PERMISSION_DENIED, 'no identity issued');
      return;
    }
    if (this.mode.kind === 'refuse') {
      this.endWith(call, grpc.status.INVALID_ARGUMENT, this.mode.details);
      return;
    }
    this.streams.add(call);
    call.on('cancelled', () => this.streams.delete(call));
    call.on('close', () => this.streams.delete(call));
    call.write(this.mode.response);
  }

  private endWith(call: grpc.ServerWritableStream<unknown, unknown>, code: grpc.status, details: string): void {
    this.streams.delete(call);
    call.emit('error', { code, details, metadata: new grpc.Metadata() });
  }
}

/** A SPIRE-like trust domain: a CA that mints X509SVIDResponse messages. */
export class FakeTrustDomain {
  private constructor(
    readonly name: string,
    readonly ca: CertificateAuthority,
  ) {}

  static async create(name: string): Promise<FakeTrustDomain> {
    return new FakeTrustDomain(
      name,
      await CertificateAuthority.create({ commonName: `${name} SPIRE CA`, ttlMs: 86_400_000 }),
    );
  }

  get bundleDer(): Buffer {
    return this.ca.certificate.raw;
  }

  /** One SVID for `path` (e.g. /ah/agent/x), with our bundle and any federated bundles. */
  async response(
    path: string,
    options: { federated?: FakeTrustDomain[]; issue?: Partial<IssueOptions>; hint?: string; spiffeId?: string } = {},
  ): Promise<X509SVIDResponse & { serial: string }> {
    // spiffeId lets a test have this CA sign an ID of another trust domain (an impersonation).
    const spiffeId = options.spiffeId ?? `spiffe://${this.name}${path}`;
    const issued = await this.ca.issue({
      commonName: path.split('/').pop() ?? 'svid',
      uris: [spiffeId],
      ttlMs: 3_600_000,
      ...options.issue,
    });
    const key = createPrivateKey(issued.keyPem as string).export({ format: 'der', type: 'pkcs8' });
    return {
      svids: [
        {
          spiffe_id: spiffeId,
          x509_svid: issued.cert.raw,
          x509_svid_key: key,
          bundle: this.bundleDer,
          hint: options.hint ?? '',
        },
      ],
      crl: [],
      federated_bundles: Object.fromEntries(
        (options.federated ?? []).map((td) => [`spiffe://${td.name}`, td.bundleDer]),
      ),
      serial: new X509Certificate(issued.cert.raw).serialNumber.toUpperCase(),
    };
  }
}
