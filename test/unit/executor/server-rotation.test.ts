// The order an executor dials its access points in: shuffled once, every order as likely as any
// other, the next one after each failure, and a round (the moment to back off) only once every
// one has failed in a row.

import { describe, expect, it } from 'vitest';
import { ServerRotation, type AccessPointAddress } from '../../../src/executor/server-rotation.js';
import { seededRandom } from '../../support/seeded-random.js';

const at = (n: number): AccessPointAddress => ({ host: `ap${n}`, port: 4433, url: `https://ap${n}:4433` });
const three = [at(1), at(2), at(3)];

describe('ServerRotation', () => {
  it('tries every access point once per round, in a fixed shuffled order', () => {
    const rotation = new ServerRotation(three, seededRandom(7));
    const order = rotation.all.map((s) => s.url);
    expect([...order].sort()).toEqual(three.map((s) => s.url));
    const dialled = [rotation.current.url];
    for (let i = 0; i < 5; i += 1) {
      rotation.failed();
      dialled.push(rotation.current.url);
    }
    expect(dialled).toEqual([...order, ...order]);
  });

  it('ends a round only when every access point failed in a row; a success starts a new round', () => {
    const rotation = new ServerRotation(three, () => 0.5);
    expect([rotation.failed(), rotation.failed(), rotation.failed()]).toEqual([false, false, true]);
    expect([rotation.failed(), rotation.failed()]).toEqual([false, false]);
    rotation.succeeded();
    // The one that welcomed us is where the next round starts; its failure is the first of three.
    expect([rotation.failed(), rotation.failed(), rotation.failed()]).toEqual([false, false, true]);
  });

  it('with one access point, every failure ends a round (the backoff applies as it always did)', () => {
    const rotation = new ServerRotation([at(1)]);
    expect([rotation.failed(), rotation.failed()]).toEqual([true, true]);
    expect(rotation.current.url).toBe('https://ap1:4433');
  });

  it('spreads a fleet with the same list evenly over its access points', () => {
    const random = seededRandom(42);
    const first = new Map<string, number>();
    const orders = new Set<string>();
    const runs = 6_000;
    for (let i = 0; i < runs; i += 1) {
      const rotation = new ServerRotation(three, random);
      first.set(rotation.current.url, (first.get(rotation.current.url) ?? 0) + 1);
      orders.add(rotation.all.map((s) => s.host).join(','));
    }
    // All six orders occur, and each access point comes first about a third of the time.
    expect(orders.size).toBe(6);
    for (const s of three) expect(Math.abs((first.get(s.url) ?? 0) / runs - 1 / 3)).toBeLessThan(0.03);
  });

  it('keeps the order of a random source that always says "stay" (how tests fix it)', () => {
    expect(new ServerRotation(three, () => 0.999999).all).toEqual(three);
    expect(() => new ServerRotation([])).toThrow(RangeError);
  });
});
