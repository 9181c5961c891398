// The static codecs (src/protocol/generated/, through static-codec.ts) against @grpc/proto-loader's
// definitions loaded from the same .proto files, with the options the protocol modules used when
// they loaded them: for every message type, the same bytes for the same object and the same object
// for the same bytes, on random values (seeded, reproducible) and edge cases: empty messages,
// unknown fields appended to the bytes, a message sent twice (merged), 64-bit extremes, maps,
// oneofs, loose input (numbers as strings, nulls, properties the message has not), broken bytes.
// And the service definitions: the same methods, paths, stream flags and names as proto-loader's.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../support/seeded-random.js';
import { fleetClientConstructor, fleetServiceDefinition } from '../../../src/protocol/fleet-protocol.js';
import { workloadClientConstructor, workloadServiceDefinition } from '../../../src/protocol/workload-protocol.js';
import { deserializer, serializer, type StaticCodec } from '../../../src/protocol/static-codec.js';
import { ah } from '../../../src/protocol/generated/fleet.js';
import * as workload from '../../../src/protocol/generated/workload.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const PROTOS = {
  fleet: {
    file: path.join(ROOT, 'proto/ah/fleet/v1/fleet.proto'),
    generated: { ah } as Record<string, unknown>,
    service: 'ah.fleet.v1.Fleet',
    definition: fleetServiceDefinition,
    client: fleetClientConstructor,
  },
  workload: {
    file: path.join(ROOT, 'proto/spiffe/workload/workload.proto'),
    generated: workload as Record<string, unknown>,
    service: 'SpiffeWorkloadAPI',
    definition: workloadServiceDefinition,
    client: workloadClientConstructor,
  },
};
const SEED = 0x5eed_c0de;
const RANDOM_VALUES = 100;

type Codec = StaticCodec<unknown>;
type Reference = protoLoader.MessageTypeDefinition<object, object>;
interface Pair {
  name: string;
  type: protobuf.Type;
  reference: Reference;
  codec: Codec;
}

/** Every message type of a .proto file (its imports included), with proto-loader's definition and the static class. */
function pairs(which: keyof typeof PROTOS): Pair[] {
  const spec = PROTOS[which];
  const definition = protoLoader.loadSync(spec.file, OPTIONS);
  const root = new protobuf.Root().loadSync(spec.file, { keepCase: true });
  root.resolveAll();
  const found: Pair[] = [];
  for (const [name, value] of Object.entries(definition)) {
    if (!('format' in value) || value.format !== 'Protocol Buffer 3 DescriptorProto') continue;
    const codec = name
      .split('.')
      .reduce<unknown>((at, part) => (at as Record<string, unknown>)?.[part], spec.generated);
    found.push({ name, type: root.lookupType(name), reference: value, codec: codec as Codec });
  }
  return found;
}

const ALL = { fleet: pairs('fleet'), workload: pairs('workload') };

function strings(random: () => number): string {
  const choices = [
    '',
    'a',
    'worker-1',
    'Zürich',
    '東京',
    '🙂 emoji',
    'nul\u0000in',
    'x'.repeat(300),
    'spiffe://example.org/ah/agent/x',
  ];
  if (random() < 0.5) return choices[Math.floor(random() * choices.length)] as string;
  return Array.from({ length: Math.floor(random() * 20) }, () =>
    String.fromCodePoint(Math.floor(random() * 0xd000)),
  ).join('');
}

function bytes(random: () => number): Buffer {
  return Buffer.from(
    Array.from({ length: Math.floor(random() * (random() < 0.1 ? 2000 : 40)) }, () => Math.floor(random() * 256)),
  );
}

function pick<T>(random: () => number, values: T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** A random value for a scalar, enum or message field type, as a caller of serialize would pass it. */
function scalar(
  field: protobuf.Field | { type: string; resolvedType: null },
  random: () => number,
  depth: number,
): unknown {
  switch (field.type) {
    case 'string':
      return strings(random);
    case 'bytes':
      return bytes(random);
    case 'bool':
      return random() < 0.5;
    case 'uint32':
      return pick(random, [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, Math.floor(random() * 2 ** 32)]);
    case 'int32':
      return pick(random, [0, -1, 2 ** 31 - 1, -(2 ** 31), Math.floor(random() * 2 ** 32) - 2 ** 31]);
    case 'uint64':
      return pick(random, [
        0,
        1,
        2 ** 32,
        Number.MAX_SAFE_INTEGER,
        Math.floor(random() * Number.MAX_SAFE_INTEGER),
        '18446744073709551615',
        '9007199254740993',
      ]);
    case 'int64':
      return pick(random, [
        0,
        -1,
        Date.now(),
        Number.MAX_SAFE_INTEGER,
        -Number.MAX_SAFE_INTEGER,
        Math.floor(random() * 2 ** 60) - 2 ** 59,
        '9223372036854775807',
        '-9223372036854775808',
      ]);
    case 'double':
      return pick(random, [0, -1.5, 1e300, Number.MIN_VALUE, Number.NaN, Infinity, random() * 1e6 - 5e5]);
    default: {
      const resolved = field.resolvedType;
      if (resolved instanceof protobuf.Enum) {
        const names = Object.keys(resolved.values);
        return random() < 0.7 ? pick(random, names) : resolved.values[pick(random, names)];
      }
      if (resolved instanceof protobuf.Type) return message(resolved, random, depth + 1);
      throw new Error(`no generator for field type ${field.type}`);
    }
  }
}

/** A random object of a message type: each field set or left out, one member of each oneof, maps and lists of any length. */
function message(type: protobuf.Type, random: () => number, depth = 0): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  // Struct, Value and ListValue nest each other: keep the tree small.
  const setProbability = depth > 2 ? 0.1 : 0.6;
  for (const oneof of type.oneofsArray) {
    if (random() < 0.8) {
      const member = pick(random, oneof.fieldsArray);
      value[member.name] = scalar(member, random, depth);
    }
  }
  for (const field of type.fieldsArray) {
    if (field.partOf || random() > setProbability) continue;
    const count = pick(random, [0, 1, 2, 5]);
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) map[i === 0 ? '' : strings(random)] = scalar(field, random, depth);
      value[field.name] = map;
    } else if (field.repeated) {
      value[field.name] = Array.from({ length: count }, () => scalar(field, random, depth));
    } else {
      value[field.name] = scalar(field, random, depth);
    }
  }
  return value;
}

/** Fields no version of the message has, on each wire type: what a newer peer may send. */
function unknownFields(random: () => number): Buffer {
  const w = protobuf.Writer.create();
  for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) {
    const id = 100 + Math.floor(random() * 10_000);
    switch (i % 4) {
      case 0:
        w.uint32((id << 3) | 0).uint64(Math.floor(random() * Number.MAX_SAFE_INTEGER));
        break;
      case 1:
        w.uint32((id << 3) | 2).bytes(bytes(random));
        break;
      case 2:
        w.uint32((id << 3) | 1).fixed64(Math.floor(random() * 2 ** 40));
        break;
      default:
        w.uint32((id << 3) | 5).fixed32(Math.floor(random() * 2 ** 32));
    }
  }
  return Buffer.from(w.finish());
}

/** What a function returns or throws, comparable with toEqual. */
function outcome(f: () => unknown): { value?: unknown; error?: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function expectSameEncoding(pair: Pair, value: unknown): void {
  const mine = outcome(() => serializer(pair.codec)(value as object));
  const theirs = outcome(() => pair.reference.serialize(value as object));
  expect(mine, `${pair.name}: serialize ${String(JSON.stringify(value))?.slice(0, 500)}`).toEqual(theirs);
}

function expectSameDecoding(pair: Pair, bytes: Buffer): void {
  const mine = outcome(() => deserializer(pair.codec)(bytes));
  const theirs = outcome(() => pair.reference.deserialize(bytes));
  expect(mine, `${pair.name}: deserialize ${bytes.toString('hex').slice(0, 500)}`).toEqual(theirs);
}

describe.each(Object.keys(PROTOS) as Array<keyof typeof PROTOS>)('%s: static codecs equal proto-loader', (which) => {
  const all = ALL[which];

  it('has a static class for every message type proto-loader defines', () => {
    // 13 in fleet.proto; 12 in workload.proto and Struct, Value, ListValue from google/protobuf/struct.proto.
    expect(all).toHaveLength(which === 'fleet' ? 13 : 15);
    expect(all.filter((p) => typeof p.codec?.encode !== 'function').map((p) => p.name)).toEqual([]);
    expect(all.filter((p) => p.codec.name !== p.type.name).map((p) => p.name)).toEqual([]);
  });

  it.each(all.map((p) => [p.name, p] as const))('%s: random values and edge cases', (_name, pair) => {
    const random = seededRandom(SEED ^ pair.name.length);
    const values: unknown[] = [{}, message(pair.type, () => 0), message(pair.type, () => 0.999)];
    for (let i = 0; i < RANDOM_VALUES; i++) values.push(message(pair.type, random));
    for (const value of values) {
      expectSameEncoding(pair, value);
      const encoded = pair.reference.serialize(value as object);
      expectSameDecoding(pair, encoded);
      expectSameDecoding(pair, Buffer.concat([encoded, unknownFields(random)]));
      expectSameDecoding(pair, Buffer.concat([unknownFields(random), encoded]));
      // The same message twice: scalars take the last, messages and maps merge, lists append.
      expectSameDecoding(pair, Buffer.concat([encoded, pair.reference.serialize(message(pair.type, random))]));
      // Cut short, and a byte changed: both refuse the same way, or decode the same thing.
      if (encoded.length > 1) {
        expectSameDecoding(pair, encoded.subarray(0, Math.floor(random() * encoded.length)));
        const changed = Buffer.from(encoded);
        changed[Math.floor(random() * changed.length)] = Math.floor(random() * 256);
        expectSameDecoding(pair, changed);
      }
    }
    expectSameDecoding(pair, Buffer.alloc(0));
    expectSameDecoding(pair, unknownFields(random));
  });

  it.each(all.map((p) => [p.name, p] as const))('%s: loose input', (_name, pair) => {
    const random = seededRandom(SEED + pair.name.length);
    const loose: unknown[] = [[], [1, 2]];
    const looseValue = (type: string): unknown[] =>
      ({
        string: [null, undefined, 42, true],
        bytes: [null, '', 'AQID', [1, 2, 3], new Uint8Array([4, 5])],
        bool: [null, 0, 1, 'false', ''],
        uint32: [null, '42', -1, 2 ** 33, 1.9, 'x'],
        uint64: [null, '42', -1, 1.9, { low: 1, high: 2, unsigned: true }, 'x'],
        int64: [null, '-42', 1.9, { low: -1, high: -1, unsigned: false }],
        double: [null, '1.5', 'x'],
      })[type] ?? [null, undefined];
    for (const field of pair.type.fieldsArray) {
      for (const v of looseValue(field.type)) {
        const base = message(pair.type, random);
        loose.push({ ...base, [field.name]: field.map ? { k: v } : field.repeated ? [v] : v });
      }
    }
    loose.push({ ...message(pair.type, random), not_a_field: 'ignored', body: 'nonsense' });
    for (const value of loose) {
      expectSameEncoding(pair, value);
      const theirs = outcome(() => pair.reference.serialize(value as object));
      if (theirs.value) expectSameDecoding(pair, theirs.value as Buffer);
    }
  });

  it('the service definition has proto-loader methods, paths, stream flags and names, over the same codecs', () => {
    const spec = PROTOS[which];
    const reference = protoLoader.loadSync(spec.file, OPTIONS)[spec.service] as protoLoader.ServiceDefinition;
    const mine = spec.definition();
    const shape = (d: Record<string, grpc.MethodDefinition<object, object>>): unknown =>
      Object.fromEntries(
        Object.entries(d).map(([name, m]) => [
          name,
          {
            path: m.path,
            requestStream: m.requestStream,
            responseStream: m.responseStream,
            originalName: m.originalName,
          },
        ]),
      );
    expect(shape(mine)).toEqual(shape(reference as unknown as grpc.ServiceDefinition));
    const random = seededRandom(SEED);
    for (const [name, method] of Object.entries(reference)) {
      const own = mine[name] as grpc.MethodDefinition<object, object>;
      for (const [kind, serialize, deserialize, theirs] of [
        ['request', own.requestSerialize, own.requestDeserialize, method.requestType],
        ['response', own.responseSerialize, own.responseDeserialize, method.responseType],
      ] as const) {
        const type = ALL[which].find((p) => p.type.name === (theirs.type as { name: string }).name)
          ?.type as protobuf.Type;
        for (let i = 0; i < 20; i++) {
          const value = message(type, random);
          const encoded = theirs.serialize(value);
          expect(serialize(value), `${name} ${kind}`).toEqual(encoded);
          expect(deserialize(encoded), `${name} ${kind}`).toEqual(theirs.deserialize(encoded));
        }
      }
    }
    // The client has the same methods, under both names, and the same service.
    const client = spec.client();
    const referenceClient = grpc.makeClientConstructor(reference, spec.service);
    const methods = (c: grpc.ServiceClientConstructor): string[] =>
      Object.keys(c.prototype as Record<string, unknown>).sort();
    expect(methods(client)).toEqual(methods(referenceClient));
    expect(client.service).toBe(mine);
    expect(client.serviceName).toBe(spec.service);
  });
});

describe('what the protocol modules hand to their users', () => {
  it('Join and Renew over the definition, as the certificate-less path and the renewer use them', () => {
    const { Join, Renew } = fleetServiceDefinition();
    const join = Join as grpc.MethodDefinition<object, object>;
    expect(join.requestDeserialize(join.requestSerialize({ token: 't', csr_pem: 'c' }))).toEqual({
      token: 't',
      csr_pem: 'c',
    });
    expect(join.responseDeserialize(Buffer.alloc(0))).toEqual({
      chain_pem: '',
      bundle_pem: '',
      spiffe_id: '',
      not_after_unix_ms: 0,
      access_point_id: '',
    });
    const renew = Renew as grpc.MethodDefinition<object, object>;
    expect(renew.responseDeserialize(renew.responseSerialize({ not_after_unix_ms: 1_900_000_000_000 }))).toEqual({
      chain_pem: '',
      bundle_pem: '',
      not_after_unix_ms: 1_900_000_000_000,
      access_point_id: '',
    });
  });

  it('the Connect oneof as `body`, defaults filled in, 64-bit as numbers', () => {
    const connect = fleetServiceDefinition().Connect as grpc.MethodDefinition<object, object>;
    const bytes = connect.responseSerialize({ ack: { seq: Number.MAX_SAFE_INTEGER } });
    expect(connect.responseDeserialize(bytes)).toEqual({
      body: 'ack',
      ack: { seq: Number.MAX_SAFE_INTEGER, server_time_unix_ms: 0 },
    });
    expect(connect.requestDeserialize(connect.requestSerialize({ hello: { labels: { a: 'b' } } }))).toMatchObject({
      body: 'hello',
      hello: { labels: { a: 'b' }, host: null, probe: false, name: '' },
    });
  });
});
