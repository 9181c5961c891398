// A minimal DER writer for the certificates and requests `ah` makes itself (the dev CA and its
// leaves, the CSR sent to Vault, the test CA): enough ASN.1 for X.509 v3 with ECDSA P-256. It
// replaces @peculiar/x509 (with reflect-metadata and tsyringe) on those paths, which cost an idle
// executor on the dev identity about 18 MiB of its footprint (docs/PERFORMANCE.md, "Footprint").

const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: tag, length, then the contents in order. */
export function element(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => element(TAG.sequence, ...items);
export const set = (...items: Uint8Array[]): Buffer => element(TAG.set, ...items);
export const octetString = (bytes: Uint8Array): Buffer => element(TAG.octetString, bytes);
export const boolean = (value: boolean): Buffer => element(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
/** `[n]` EXPLICIT: a constructed context-specific element around `contents`. */
export const explicit = (n: number, ...contents: Uint8Array[]): Buffer => element(0xa0 | n, ...contents);
/** `[n]` IMPLICIT on a primitive type: the contents under a context-specific tag. */
export const implicit = (n: number, contents: Uint8Array): Buffer => element(0x80 | n, contents);

/** An INTEGER from its big-endian two's-complement bytes, minimally encoded (non-negative input). */
export function integer(value: Uint8Array | number): Buffer {
  let bytes: Buffer;
  if (typeof value === 'number') {
    const out: number[] = [];
    for (let n = value; n > 0; n = Math.floor(n / 256)) out.unshift(n % 256);
    bytes = Buffer.from(out.length ? out : [0]);
  } else bytes = Buffer.from(value);
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && ((bytes[start + 1] as number) & 0x80) === 0) start++;
  bytes = bytes.subarray(start);
  // A leading 1 bit would read as negative: prefix a zero byte.
  if (((bytes[0] as number) & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return element(TAG.integer, bytes);
}

/** A BIT STRING of whole bytes (keys, signatures). */
export const bitString = (bytes: Uint8Array): Buffer => element(TAG.bitString, Buffer.from([0]), bytes);

/**
 * A named-bit BIT STRING (keyUsage) from bit flags, bit 0 first: DER drops the trailing zero bits
 * and says how many bits of the last byte are unused.
 */
export function namedBits(flags: number): Buffer {
  const bytes: number[] = [];
  let highest = -1;
  for (let bit = 0; bit < 32; bit++) {
    if ((flags & (1 << bit)) === 0) continue;
    highest = bit;
    const index = bit >> 3;
    while (bytes.length <= index) bytes.push(0);
    bytes[index] = (bytes[index] as number) | (0x80 >> (bit & 7));
  }
  if (highest < 0) return element(TAG.bitString, Buffer.from([0]));
  return element(TAG.bitString, Buffer.from([7 - (highest & 7)]), Buffer.from(bytes));
}

export function oid(text: string): Buffer {
  const arcs = text.split('.').map(Number);
  const first = (arcs[0] as number) * 40 + (arcs[1] as number);
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return element(TAG.oid, Buffer.from(out));
}

/** A directory string: PrintableString when the text fits its alphabet, else UTF8String. */
export function directoryString(text: string): Buffer {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)
    ? element(TAG.printableString, Buffer.from(text, 'latin1'))
    : element(TAG.utf8String, Buffer.from(text, 'utf8'));
}

/** RFC 5280 Time: UTCTime for 1950-2049, GeneralizedTime otherwise; whole seconds, in UTC. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const two = (n: number): string => String(n).padStart(2, '0');
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year >= 1950 && year < 2050
    ? element(TAG.utcTime, Buffer.from(`${two(year % 100)}${rest}`, 'latin1'))
    : element(TAG.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
}
