// The DER reader lives in src/x509/der.ts (the certificate layer decodes SANs with it too); kept
// here under its old name for the TLS modules' tests.
export * from '../x509/der.js';
