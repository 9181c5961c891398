// The SPIFFE Workload API (proto/spiffe/workload/workload.proto) as a grpc-js service over static
// codecs generated from it (src/protocol/generated/workload.js, `npm run proto:gen`), with the
// message shapes @grpc/proto-loader gives (static-codec.ts) and TypeScript shapes for the X.509
// part we use. No .proto file is parsed at run time (docs/PERFORMANCE.md, "Footprint").

import * as grpc from '@grpc/grpc-js';
import * as workload from './generated/workload.js';
import { methodDefinition } from './static-codec.js';

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

/** The service's name: the .proto has no package (wire compatibility with SPIRE). */
const SERVICE = 'SpiffeWorkloadAPI';

let constructor: grpc.ServiceClientConstructor | undefined;

export function workloadClientConstructor(): grpc.ServiceClientConstructor {
  if (!constructor) {
    const definition: grpc.ServiceDefinition = {
      FetchX509SVID: methodDefinition(SERVICE, {
        name: 'FetchX509SVID',
        originalName: 'fetchX509Svid',
        requestStream: false,
        responseStream: true,
        request: workload.X509SVIDRequest,
        response: workload.X509SVIDResponse,
      }),
      FetchX509Bundles: methodDefinition(SERVICE, {
        name: 'FetchX509Bundles',
        originalName: 'fetchX509Bundles',
        requestStream: false,
        responseStream: true,
        request: workload.X509BundlesRequest,
        response: workload.X509BundlesResponse,
      }),
      FetchJWTSVID: methodDefinition(SERVICE, {
        name: 'FetchJWTSVID',
        originalName: 'fetchJwtsvid',
        requestStream: false,
        responseStream: false,
        request: workload.JWTSVIDRequest,
        response: workload.JWTSVIDResponse,
      }),
      FetchJWTBundles: methodDefinition(SERVICE, {
        name: 'FetchJWTBundles',
        originalName: 'fetchJwtBundles',
        requestStream: false,
        responseStream: true,
        request: workload.JWTBundlesRequest,
        response: workload.JWTBundlesResponse,
      }),
      ValidateJWTSVID: methodDefinition(SERVICE, {
        name: 'ValidateJWTSVID',
        originalName: 'validateJwtsvid',
        requestStream: false,
        responseStream: false,
        request: workload.ValidateJWTSVIDRequest,
        response: workload.ValidateJWTSVIDResponse,
      }),
    };
    constructor = grpc.makeGenericClientConstructor(definition, SERVICE, {});
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
