import { describe, expect, it } from 'vitest';
import { encodeGrpcMessage } from '../../../src/fleet/refusal-server.js';

describe('encodeGrpcMessage', () => {
  it('percent-encodes what grpc-message may not carry raw, and keeps the rest readable', () => {
    expect(encodeGrpcMessage('client certificate rejected: certificate signed by unknown authority')).toBe(
      'client certificate rejected: certificate signed by unknown authority',
    );
    expect(encodeGrpcMessage('100% sure, Zürich\n')).toBe('100%25 sure, Z%C3%BCrich%0A');
    expect(decodeURIComponent(encodeGrpcMessage('100% sure, Zürich\n'))).toBe('100% sure, Zürich\n');
  });
});
