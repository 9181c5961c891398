// The handshake gate: a cap on handshakes at once, arrival order, slots given back exactly once,
// and connections that waited too long dropped without starting.

import { describe, expect, it } from 'vitest';
import { HandshakeGate } from '../../../src/fleet/handshake-gate.js';
import { FakeClock } from '../../support/fake-clock.js';

function gate(max: number, clock = new FakeClock()) {
  const started: number[] = [];
  const expired: number[] = [];
  const finish = new Map<number, () => void>();
  const g = new HandshakeGate<number>({
    max,
    maxWaitMs: 10_000,
    leaseMs: 60_000,
    clock,
    start: (n, done) => {
      started.push(n);
      finish.set(n, done);
    },
    expire: (n) => expired.push(n),
  });
  return { g, started, expired, finish, clock };
}

describe('handshake gate', () => {
  it('runs at most max handshakes and lets the rest in, in arrival order, as slots free up', () => {
    const { g, started, finish } = gate(3);
    for (let i = 1; i <= 7; i++) g.offer(i, 'a');
    expect(started).toEqual([1, 2, 3]);
    expect([g.inProgress, g.waiting]).toEqual([3, 4]);
    finish.get(2)?.();
    expect(started).toEqual([1, 2, 3, 4]);
    finish.get(1)?.();
    finish.get(3)?.();
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect([g.inProgress, g.waiting]).toEqual([3, 1]);
  });

  it('counts a slot given back twice only once', () => {
    const { g, started, finish } = gate(1);
    g.offer(1, 'a');
    g.offer(2, 'a');
    g.offer(3, 'a');
    finish.get(1)?.();
    finish.get(1)?.();
    expect(started).toEqual([1, 2]);
    expect(g.inProgress).toBe(1);
  });

  it('drops, without starting them, connections that waited longer than the limit', async () => {
    const { g, started, expired, finish, clock } = gate(1);
    g.offer(1, 'a');
    g.offer(2, 'a');
    await clock.advance(5_000);
    g.offer(3, 'a');
    await clock.advance(6_000); // 2 has waited 11 s, 3 only 6 s
    finish.get(1)?.();
    expect(expired).toEqual([2]);
    expect(started).toEqual([1, 3]);
  });

  it('drops connections that waited too long even while every slot stays busy', async () => {
    const { g, started, expired, clock } = gate(1);
    g.offer(1, 'a');
    g.offer(2, 'b');
    await clock.advance(5_000);
    g.offer(3, 'b');
    await clock.advance(5_500); // 2 has waited 10.5 s, 3 only 5.5 s; 1 never finishes
    expect(expired).toEqual([2]);
    expect(g.waiting).toBe(1);
    await clock.advance(5_000);
    expect(expired).toEqual([2, 3]);
    expect([started, g.waiting]).toEqual([[1], 0]);
    expect(clock.nextTimerIn()).toBe(60_000 - 15_500); // only 1's lease is left: nothing waiting, no sweeping
  });

  it('handles handshakes that end at once (a socket already gone) without recursion', () => {
    const clock = new FakeClock();
    const started: number[] = [];
    const held: Array<() => void> = [];
    // The first two hold their slots while 50,000 queue up; the rest end the moment they start.
    const g = new HandshakeGate<number>({
      max: 2,
      maxWaitMs: 10_000,
      leaseMs: 60_000,
      clock,
      start: (n, done) => (started.push(n), n < 2 ? held.push(done) : done()),
      expire: () => {},
    });
    for (let i = 0; i < 50_000; i++) g.offer(i, 'a');
    expect([g.inProgress, g.waiting]).toEqual([2, 49_998]);
    held[0]?.();
    held[1]?.();
    expect(started).toHaveLength(50_000);
    expect([g.inProgress, g.waiting]).toEqual([0, 0]);
  });

  it('stays correct across queue compaction under a storm', () => {
    const { g, started, finish } = gate(8);
    for (let i = 0; i < 5_000; i++) g.offer(i, 'a');
    for (let i = 0; i < 5_000; i++) finish.get(i)?.();
    expect(started).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    expect([g.inProgress, g.waiting]).toEqual([0, 0]);
  });

  it('serves waiting sources in turn, so one flooding address cannot starve the others', () => {
    const { g, started, finish } = gate(1);
    g.offer(0, 'busy');
    for (let i = 1; i <= 100; i++) g.offer(i, 'flood');
    g.offer(1001, 'executor-a');
    g.offer(1002, 'executor-b');
    finish.get(0)?.(); // next: flood's first
    finish.get(1)?.(); // then executor-a, executor-b, then flood again
    finish.get(1001)?.();
    finish.get(1002)?.();
    expect(started).toEqual([0, 1, 1001, 1002, 2]);
  });

  it('takes back the slot of a handshake that runs past its lease (a stalled client)', async () => {
    const clock = new FakeClock();
    const started: number[] = [];
    const g = new HandshakeGate<number>({
      max: 2,
      maxWaitMs: 10_000,
      leaseMs: 1_000,
      clock,
      start: (n) => started.push(n),
      expire: () => {},
    });
    for (let i = 1; i <= 5; i++) g.offer(i, `stalled-${i}`);
    expect(started).toEqual([1, 2]);
    await clock.advance(1_000);
    expect(started).toEqual([1, 2, 3, 4]);
    await clock.advance(1_000);
    expect(started).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives back what is waiting on drain', () => {
    const { g } = gate(1);
    for (let i = 1; i <= 4; i++) g.offer(i, 'a');
    expect(g.drain()).toEqual([2, 3, 4]);
    expect(g.waiting).toBe(0);
  });
});

describe('handshake gate and the wall clock', () => {
  it('measures waiting on the monotonic clock: an NTP step forward expires nothing, a step back keeps nothing forever', async () => {
    const { g, started, expired, finish, clock } = gate(1);
    g.offer(1, 'a');
    g.offer(2, 'a');
    clock.jump(3_600_000); // the wall clock is set an hour ahead
    await clock.advance(1_000);
    expect(expired).toEqual([]);
    g.offer(3, 'a');
    clock.jump(-7_200_000); // and then two hours back
    await clock.advance(10_500); // 2 has waited 11.5 s, 3 has waited 10.5 s
    expect(expired).toEqual([2, 3]);
    finish.get(1)?.();
    expect(started).toEqual([1]);
  });
});
