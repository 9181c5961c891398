// The SPIFFE Workload API (proto/spiffe/workload/workload.proto) as loaded by @grpc/proto-loader,
// with TypeScript shapes for the X.509 part we use.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../core/paths.js';

export interface X509SVID {
  spiffe_id: string;
  /** Concatenated DER certificates, leaf first. */
  x509_svid: Buffer;
  /** PKCS#8 DER private key. */
  x509_svid_key: Buffer;
  /** Concatenated DER CA certificates of the workload's trust domain. */
  bundle: Buffer;
  hint: string;
}

export interface X509SVIDResponse {
  svids: X509SVID[];
  crl: Buffer[];
  /** Trust domain SPIFFE ID -> concatenated DER CA certificates. */
  federated_bundles: Record<string, Buffer>;
}

/** The security header every Workload API call carries; SPIRE refuses calls without it. */
export const WORKLOAD_HEADER = 'workload.spiffe.io';

let constructor: grpc.ServiceClientConstructor | undefined;

export function workloadClientConstructor(): grpc.ServiceClientConstructor {
  if (!constructor) {
    const definition = protoLoader.loadSync(path.join(packageRoot(), 'proto', 'spiffe', 'workload', 'workload.proto'), {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    constructor = (
      grpc.loadPackageDefinition(definition) as unknown as { SpiffeWorkloadAPI: grpc.ServiceClientConstructor }
    ).SpiffeWorkloadAPI;
  }
  return constructor;
}

export function workloadServiceDefinition(): grpc.ServiceDefinition {
  return workloadClientConstructor().service;
}

/** Metadata for a Workload API call. */
export function workloadMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(WORKLOAD_HEADER, 'true');
  return metadata;
}
