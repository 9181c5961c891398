// grpc-js method definitions over the static protobuf codecs of src/protocol/generated/ (built by
// `npm run proto:gen`), with the JavaScript shapes @grpc/proto-loader gives under the options the
// protocol modules always used: { keepCase: true, longs: Number, enums: String, defaults: true,
// oneofs: true }. keepCase is a parse option, already applied by the generator (field names as in
// the .proto); the other four are toObject's. The codecs need protobufjs/minimal only: no .proto
// file is read or parsed at run time (docs/PERFORMANCE.md, "Footprint").
// test/unit/protocol/static-codecs.test.ts checks bytes and objects against proto-loader's.

import type * as grpc from '@grpc/grpc-js';
import type { IConversionOptions, Writer } from 'protobufjs';

/** One message class of a generated static module, as these definitions use it. */
export interface StaticCodec<M> {
  /** The message's name in the .proto (the generated constructor's name), for errors. */
  readonly name: string;
  encode(message: M): Writer;
  decode(bytes: Uint8Array): M;
  fromObject(object: { [k: string]: unknown }): M;
  toObject(message: M, options?: IConversionOptions): { [k: string]: unknown };
}

/** proto-loader's conversion (its options object goes to toObject as it is). */
export const CONVERSION: IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

/** proto-loader's serializer: fromObject (plain object in, numbers or strings for 64-bit, enum names), then encode. */
export function serializer<M>(codec: StaticCodec<M>): (value: object) => Buffer {
  return (value: object): Buffer => {
    if (Array.isArray(value)) {
      throw new Error(`Failed to serialize message: expected object with ${codec.name} structure, got array instead`);
    }
    // In Node, protobufjs' writer finishes into a Buffer.
    return codec.encode(codec.fromObject(value as { [k: string]: unknown })).finish() as Buffer;
  };
}

/** proto-loader's deserializer: decode, then toObject with its options. */
export function deserializer<M>(codec: StaticCodec<M>): (bytes: Buffer) => object {
  return (bytes: Buffer): object => codec.toObject(codec.decode(bytes), CONVERSION);
}

export interface MethodShape<Req, Res> {
  /** The method's name in the .proto (`Connect`); the path is /<service>/<name>. */
  name: string;
  /** What proto-loader sets (lodash's camelCase of the name); grpc-js adds it to clients as an alias. */
  originalName: string;
  requestStream: boolean;
  responseStream: boolean;
  request: StaticCodec<Req>;
  response: StaticCodec<Res>;
}

/** One method of a grpc-js service definition as proto-loader builds it, in the service of that fully qualified name. */
export function methodDefinition<Req, Res>(
  service: string,
  m: MethodShape<Req, Res>,
): grpc.MethodDefinition<object, object> {
  return {
    path: `/${service}/${m.name}`,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    requestSerialize: serializer(m.request),
    requestDeserialize: deserializer(m.request),
    responseSerialize: serializer(m.response),
    responseDeserialize: deserializer(m.response),
    originalName: m.originalName,
  };
}
