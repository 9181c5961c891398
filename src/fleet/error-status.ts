// How the access point ends a stream with one of our errors: a gRPC status whose `ah-error`
// trailer carries the error as JSON, so the executor prints the guide's line.

import * as grpc from '@grpc/grpc-js';
import type { AhError } from '../core/errors.js';
import { ERROR_METADATA_KEY } from '../protocol/fleet-protocol.js';

/** A gRPC status carrying one of our errors in the `ah-error` trailer. */
export function errorStatus(code: grpc.status, error: AhError): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_METADATA_KEY, JSON.stringify(error.toJSON()));
  return { code, details: error.message, metadata };
}

/** A stream's clean end (Goodbye, a probe, the executor's own half-close). */
export function okStatus(details = ''): grpc.StatusObject {
  return { code: grpc.status.OK, details, metadata: new grpc.Metadata() };
}
