// A minimal DER reader for the few certificate fields Node does not expose: subject alternative
// names it had to quote (certificate.ts) and, for the chain diagnosis (src/tls), keyUsage bits,
// pathlen, which extensions are critical, name constraints. Decoding with @peculiar/x509 costs
// about 1 ms per certificate, several times a whole handshake, and loading it costs an idle
// executor about 18 MiB; after a bad CA rollout every executor of the fleet is refused at once,
// so the refusal path must stay cheap. The input is a peer's certificate: every length is checked
// against its container and reading a level stops after `max` elements.

export interface DerElement {
  tag: number;
  /** The content bytes (a view into the input). */
  body: Uint8Array;
}

/** The DER elements directly inside `data`, in order, at most `max`. Throws when malformed. */
export function derElements(data: Uint8Array, max = 64): DerElement[] {
  const out: DerElement[] = [];
  let at = 0;
  while (at < data.length && out.length < max) {
    const tag = data[at] as number;
    if ((tag & 0x1f) === 0x1f) throw new Error('unsupported DER tag');
    const first = data[at + 1];
    if (first === undefined) throw new Error('truncated DER length');
    let length = first;
    let header = 2;
    if (first & 0x80) {
      const count = first & 0x7f;
      // 0 is the indefinite form, which DER forbids; more than 3 bytes is longer than any certificate.
      if (count === 0 || count > 3) throw new Error('unsupported DER length');
      if (at + 2 + count > data.length) throw new Error('truncated DER length');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (data[at + 2 + i] as number);
      header = 2 + count;
    }
    const end = at + header + length;
    if (end > data.length) throw new Error('DER element runs past its container');
    out.push({ tag, body: data.subarray(at + header, end) });
    at = end;
  }
  return out;
}

/** The one element `data` holds, which must have `tag`. */
export function derOne(data: Uint8Array, tag: number, what: string): DerElement {
  const el = derElements(data, 1)[0];
  if (!el || el.tag !== tag) throw new Error(`${what} is not where DER puts it`);
  return el;
}

/** Dotted text of an OBJECT IDENTIFIER's content bytes. */
export function oidText(body: Uint8Array): string {
  if (body.length === 0 || body.length > 64) throw new Error('bad object identifier');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/** A non-negative INTEGER of a few bytes (pathlen, version), or undefined when it is larger. */
export function smallInteger(body: Uint8Array): number | undefined {
  if (body.length === 0 || body.length > 4 || ((body[0] as number) & 0x80) !== 0) return undefined;
  let value = 0;
  for (const byte of body) value = value * 256 + byte;
  return value;
}
