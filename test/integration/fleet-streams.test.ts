// The fleet server's bound on concurrent streams per connection (grpc.max_concurrent_streams = 4 in
// access-point.ts), seen on the wire. A client holding a valid executor certificate opens ten
// Connect streams at once on one HTTP/2 connection, written as raw frames (a client library would
// queue the fifth and later itself and hide what the server does). In-process access point, real
// mTLS on loopback.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetFixture } from '../support/fleet-fixture.js';
import { FLAG, FRAME, H2_ERROR, RawH2, frame, grpcRequest, headerBlock, headersFrames } from '../support/raw-h2.js';
import { makeTempDir } from '../support/tmp.js';
import { within } from '../support/wait.js';

const tmp = makeTempDir('ah-streams-');
let fleet: FleetFixture;
beforeAll(async () => {
  fleet = await startFleet(tmp.dir);
});
afterAll(async () => {
  await fleet.stop();
  tmp.cleanup();
});

const CONNECT = headerBlock(grpcRequest('/ah.fleet.v1.Fleet/Connect'));
/** HEADERS opening a Connect stream, left open (no END_STREAM): the stream stays active on the server. */
const open = (streamId: number): Buffer => headersFrames(streamId, CONNECT, false);
const cancel = (streamId: number): Buffer => {
  const code = Buffer.alloc(4);
  code.writeUInt32BE(H2_ERROR.CANCEL);
  return frame(FRAME.RST_STREAM, 0, streamId, code);
};

describe('concurrent streams on one executor connection', () => {
  it('takes four at once, refuses the rest on the wire, and frees a place when one ends', async () => {
    const files = await fleet.ca.executor('many-streams');
    const c = new RawH2({ port: fleet.port, cert: readFileSync(files.cert), key: readFileSync(files.key) });
    try {
      expect(await within('the TLS handshake', c.secure)).toBe('h2');
      // Ten streams in the first flight, before the server's SETTINGS is even read.
      const ids = Array.from({ length: 10 }, (_, i) => 1 + 2 * i);
      c.write(Buffer.concat([RawH2.preface(), ...ids.map(open)]));
      // The PING comes back once the server has processed all ten HEADERS.
      expect(await within('the server to process the ten streams', c.roundTrip())).toBe(true);

      const settings = c.received(FRAME.SETTINGS).find((f) => !(f.flags & FLAG.ACK));
      const advertised = new Map<number, number>();
      for (let at = 0; settings && at + 6 <= settings.payload.length; at += 6)
        advertised.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
      expect(advertised.get(0x3), 'SETTINGS_MAX_CONCURRENT_STREAMS').toBe(4);

      const resets = c.resets();
      expect(
        ids.filter((id) => !resets.has(id)),
        'the streams the server took',
      ).toEqual([1, 3, 5, 7]);
      expect(
        ids.filter((id) => resets.get(id) === H2_ERROR.REFUSED_STREAM),
        'the streams refused with REFUSED_STREAM',
      ).toEqual([9, 11, 13, 15, 17, 19]);
      expect(c.goaway(), 'the connection itself was kept').toBeUndefined();

      // A bound on concurrency, not on a count: once one of the four ends, a new one is taken.
      // Node 22 and later keep an ended stream in their own table until the server's JavaScript
      // has let go of it, a few event-loop turns after nghttp2 closed it, and refuse a stream that
      // comes before that with ENHANCE_YOUR_CALM (Node 20 takes it at once). So a new stream is
      // offered once per round trip, a bounded number of times, until the place is free.
      c.write(cancel(1));
      expect(await within('the server to process the cancel of stream 1', c.roundTrip())).toBe(true);
      let taken: number | undefined;
      let next = 21;
      for (let attempt = 0; attempt < 10 && taken === undefined; attempt++, next += 2) {
        c.write(open(next));
        expect(await within(`the server to process stream ${next}`, c.roundTrip())).toBe(true);
        const code = c.resets().get(next);
        if (code === undefined) taken = next;
        else expect([H2_ERROR.ENHANCE_YOUR_CALM, H2_ERROR.REFUSED_STREAM], `stream ${next} refused`).toContain(code);
      }
      expect(taken, 'a new stream taken after stream 1 ended').toBeDefined();
      expect(c.goaway(), 'the connection was kept while the place was freed').toBeUndefined();

      // A fifth at once, now that the limit is acknowledged: the server ends the connection
      // (nghttp2 treats it as a protocol error), so no stream of it is ever served.
      const fifth = next;
      c.write(open(fifth));
      expect(await within('the server to answer a fifth concurrent stream', c.roundTrip())).toBe(false);
      expect(c.isClosed, 'the server closed the connection').toBe(true);
      expect(c.received(FRAME.HEADERS, fifth)).toEqual([]);
      expect(c.received(FRAME.DATA, fifth)).toEqual([]);
      const goaway = c.goaway();
      if (goaway) expect(goaway.lastStreamId).toBeLessThan(fifth);
    } finally {
      c.destroy();
    }
  });

  it('still serves the same identity on a new connection afterwards', async () => {
    const files = await fleet.ca.executor('many-streams');
    const c = new RawH2({ port: fleet.port, cert: readFileSync(files.cert), key: readFileSync(files.key) });
    try {
      expect(await within('the TLS handshake', c.secure)).toBe('h2');
      c.write(Buffer.concat([RawH2.preface(), open(1)]));
      expect(await within('the server to process stream 1', c.roundTrip())).toBe(true);
      expect(c.resets().has(1)).toBe(false);
    } finally {
      c.destroy();
    }
  });
});
