// The fleet protocol (proto/ah/fleet/v1/fleet.proto) as a grpc-js service over static codecs
// generated from it (src/protocol/generated/fleet.js, `npm run proto:gen`), with TypeScript shapes
// for its messages. The messages have the shapes @grpc/proto-loader gives (static-codec.ts), but no
// .proto file is parsed at start-up: the parser stays out of the executor (docs/PERFORMANCE.md,
// "Footprint"). Both the access point (fleet/) and the executor (executor/) import it, so it sits
// below both.

import * as grpc from '@grpc/grpc-js';
import { ah } from './generated/fleet.js';
import { methodDefinition } from './static-codec.js';

export interface HostFacts {
  hostname: string;
  os: string;
  os_release: string;
  arch: string;
  cpus: number;
  memory_bytes: number;
}

export interface Hello {
  name: string;
  labels: Record<string, string>;
  version: string;
  host?: HostFacts | null;
  heartbeat_interval_ms: number;
  /** A diagnostic probe: Welcome without enrollment. */
  probe?: boolean;
  /** The connection_id of the Welcome on the stream this one replaces (proof of continuity). */
  previous_connection_id?: string;
}
export interface Welcome {
  executor_id: string;
  server_time_unix_ms: number;
  heartbeat_interval_ms: number;
  connection_id: string;
}
export interface Heartbeat {
  seq: number;
  sent_unix_ms: number;
}
export interface Ack {
  seq: number;
  server_time_unix_ms: number;
}
export interface Goodbye {
  reason: string;
}
export interface Revoked {
  reason: string;
}

export interface JoinRequest {
  token: string;
  csr_pem: string;
}
export interface JoinResponse {
  chain_pem: string;
  bundle_pem: string;
  spiffe_id: string;
  not_after_unix_ms: number;
  access_point_id: string;
}
export interface RenewRequest {
  csr_pem: string;
}
export interface RenewResponse {
  chain_pem: string;
  bundle_pem: string;
  not_after_unix_ms: number;
  access_point_id: string;
}

/** The path of the Join call on the certificate-less path (docs/JOIN.md). */
export const JOIN_PATH = '/ah.fleet.v1.Fleet/Join';
/** Bounds of one Join request and answer, in bytes of protobuf: a token and a CSR, a chain and a bundle. */
export const MAX_JOIN_REQUEST_BYTES = 8 * 1024;
export const MAX_JOIN_RESPONSE_BYTES = 64 * 1024;

export type ExecutorMessage =
  { body: 'hello'; hello: Hello } | { body: 'heartbeat'; heartbeat: Heartbeat } | { body: 'goodbye'; goodbye: Goodbye };

export type AccessPointMessage =
  { body: 'welcome'; welcome: Welcome } | { body: 'ack'; ack: Ack } | { body: 'revoked'; revoked: Revoked };

/** Trailer key carrying a rejected executor's error as JSON ({ code, facts, detail }). */
export const ERROR_METADATA_KEY = 'ah-error';

/** The fully qualified name of the service: package ah.fleet.v1, service Fleet. */
const SERVICE = 'ah.fleet.v1.Fleet';

let definition: grpc.ServiceDefinition | undefined;
let clientConstructor: grpc.ServiceClientConstructor | undefined;

function load(): void {
  const v1 = ah.fleet.v1;
  definition = {
    Connect: methodDefinition(SERVICE, {
      name: 'Connect',
      originalName: 'connect',
      requestStream: true,
      responseStream: true,
      request: v1.ExecutorMessage,
      response: v1.AccessPointMessage,
    }),
    Join: methodDefinition(SERVICE, {
      name: 'Join',
      originalName: 'join',
      requestStream: false,
      responseStream: false,
      request: v1.JoinRequest,
      response: v1.JoinResponse,
    }),
    Renew: methodDefinition(SERVICE, {
      name: 'Renew',
      originalName: 'renew',
      requestStream: false,
      responseStream: false,
      request: v1.RenewRequest,
      response: v1.RenewResponse,
    }),
  };
  clientConstructor = grpc.makeGenericClientConstructor(definition, SERVICE, {});
}

export function fleetServiceDefinition(): grpc.ServiceDefinition {
  if (!definition) load();
  return definition as grpc.ServiceDefinition;
}

export function fleetClientConstructor(): grpc.ServiceClientConstructor {
  if (!clientConstructor) load();
  return clientConstructor as grpc.ServiceClientConstructor;
}
