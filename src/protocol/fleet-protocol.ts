// The fleet protocol as loaded by @grpc/proto-loader, with TypeScript shapes for its messages.
// Both the access point (fleet/) and the executor (executor/) import it, so it sits below both.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../core/paths.js';

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

export type ExecutorMessage =
  { body: 'hello'; hello: Hello } | { body: 'heartbeat'; heartbeat: Heartbeat } | { body: 'goodbye'; goodbye: Goodbye };

export type AccessPointMessage =
  { body: 'welcome'; welcome: Welcome } | { body: 'ack'; ack: Ack } | { body: 'revoked'; revoked: Revoked };

/** Trailer key carrying a rejected executor's error as JSON ({ code, facts, detail }). */
export const ERROR_METADATA_KEY = 'ah-error';

let definition: grpc.ServiceDefinition | undefined;
let clientConstructor: grpc.ServiceClientConstructor | undefined;

function load(): void {
  const packageDefinition = protoLoader.loadSync(
    path.join(packageRoot(), 'proto', 'ah', 'fleet', 'v1', 'fleet.proto'),
    {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    ah: { fleet: { v1: { Fleet: grpc.ServiceClientConstructor } } };
  };
  clientConstructor = loaded.ah.fleet.v1.Fleet;
  definition = clientConstructor.service;
}

export function fleetServiceDefinition(): grpc.ServiceDefinition {
  if (!definition) load();
  return definition as grpc.ServiceDefinition;
}

export function fleetClientConstructor(): grpc.ServiceClientConstructor {
  if (!clientConstructor) load();
  return clientConstructor as grpc.ServiceClientConstructor;
}
