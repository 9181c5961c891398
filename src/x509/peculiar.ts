// @peculiar/x509 needs a Reflect polyfill before it loads and a WebCrypto provider before it
// signs. Import it only through this module so both are always in place.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509, webcrypto };
