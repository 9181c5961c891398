import { describe, expect, it } from 'vitest';
import type { Welcome } from '../../../src/protocol/fleet-protocol.js';
import { acceptWelcome, HEARTBEAT_LIMITS_MS, serverTime } from '../../../src/protocol/welcome-rules.js';

const OWN_ID = 'spiffe://example.org/ah/agent/worker';
const welcome = (fields: Partial<Welcome>): Welcome => ({
  executor_id: '',
  server_time_unix_ms: 0,
  heartbeat_interval_ms: 0,
  connection_id: '',
  ...fields,
});

describe('acceptWelcome', () => {
  it('takes a complete Welcome as it is', () => {
    const w = welcome({
      executor_id: 'spiffe://example.org/ah/agent/x',
      server_time_unix_ms: 1_780_000_000_000,
      heartbeat_interval_ms: 5_000,
      connection_id: 'c1',
    });
    expect(acceptWelcome(w, 1_000, OWN_ID)).toEqual({ ...w, serverTimeKnown: true });
  });

  it('treats fields another version did not send (0 and "") as absent: own request, own ID, no server time', () => {
    expect(acceptWelcome(welcome({}), 2_000, OWN_ID)).toEqual({
      executor_id: OWN_ID,
      server_time_unix_ms: 0,
      heartbeat_interval_ms: 2_000,
      connection_id: '',
      serverTimeKnown: false,
    });
  });

  it('never lets a heartbeat interval outside the protocol limits drive the timer', () => {
    const interval = (ms: number): number =>
      acceptWelcome(welcome({ heartbeat_interval_ms: ms }), 5_000, OWN_ID).heartbeat_interval_ms;
    expect(interval(1)).toBe(HEARTBEAT_LIMITS_MS.min);
    expect(interval(4_294_967_295)).toBe(HEARTBEAT_LIMITS_MS.max);
    expect(interval(-5)).toBe(5_000);
    expect(interval(Number.NaN)).toBe(5_000);
  });
});

describe('serverTime', () => {
  it('is a time a Date can hold, or undefined', () => {
    expect(serverTime(1_780_000_000_000)).toBe(1_780_000_000_000);
    expect(serverTime(0)).toBeUndefined();
    expect(serverTime(-1)).toBeUndefined();
    expect(serverTime(9e15)).toBeUndefined();
    expect(serverTime(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(serverTime('x')).toBeUndefined();
    // What Date would have thrown on, in a gRPC data handler.
    expect(() => new Date(9e15).toISOString()).toThrow(RangeError);
  });
});
