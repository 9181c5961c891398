// The HTTP server core on real sockets: every malformed or hostile request gets a 4xx (a handler
// fault a 500), and the server keeps answering.

import path from 'node:path';
import { statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostMatches, healthServer } from '../../../src/core/host-guard.js';
import { HttpServer } from '../../../src/core/http-server.js';
import { silentLogger } from '../../../src/core/logger.js';
import { rawExchange, request } from '../../support/raw-http.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-http-');
let server: HttpServer;
let socketPath: string;
const seen: unknown[] = [];

beforeAll(async () => {
  server = new HttpServer({
    maxConnections: 8,
    logger: silentLogger,
    routes: {
      'GET /v1/things': () => ({ status: 200, body: { things: [] } }),
      'POST /v1/things': ({ body }) => {
        seen.push(body);
        return { status: 200, body: { ok: true } };
      },
      'DELETE /v1/things/*': ({ tail }) => ({ status: 200, body: { deleted: tail } }),
      'GET /boom': () => {
        throw new Error('handler fault');
      },
    },
  });
  socketPath = path.join(tmp.dir, 'control.sock');
  await server.listenUnix(socketPath, 0o660);
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

const target = (): { path: string } => ({ path: socketPath });

describe('HttpServer', () => {
  it('binds the unix socket with exactly the mode asked for', () => {
    const st = statSync(socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it.each([
    [
      'a malformed percent-escape in the path',
      request('DELETE', '/v1/things/%E0%A4%A'),
      400,
      'malformed percent-escape in path',
    ],
    ['a lone percent sign', request('DELETE', '/v1/things/%'), 400, 'malformed percent-escape in path'],
    ['an unknown path', request('GET', '/nope'), 404, 'no such endpoint'],
    ['a method the path does not take', request('PUT', '/v1/things'), 405, 'method PUT not allowed'],
    [
      'a body that is not JSON by its content type (a cross-site form post)',
      request('POST', '/v1/things', { 'content-type': 'text/plain', 'content-length': '9' }, '{"id":"x"}'),
      415,
      'body must be application/json',
    ],
    [
      'a body that does not parse',
      request('POST', '/v1/things', { 'content-type': 'application/json', 'content-length': '5' }, '{oops'),
      400,
      'body is not JSON',
    ],
    [
      'a body announced too large',
      request('POST', '/v1/things', { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) }),
      413,
      'request body too large',
    ],
    [
      'a chunked body that grows too large',
      `POST /v1/things HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${'4000\r\n' + 'a'.repeat(0x4000) + '\r\n'}${'4000\r\n' + 'a'.repeat(0x4000) + '\r\n'}`,
      413,
      'request body too large',
    ],
    [
      'a body on GET',
      request('GET', '/v1/things', { 'content-type': 'application/json', 'content-length': '2' }, '{}'),
      400,
      'GET takes no body',
    ],
    ['a path longer than 2 KiB', request('GET', `/${'a'.repeat(3_000)}`), 414, 'path too long'],
    ['a handler that throws', request('GET', '/boom'), 500, 'internal error'],
  ])('answers %s with a clear error', async (_, bytes, status, error) => {
    const { status: got, response } = await rawExchange(target(), bytes);
    expect(got).toBe(status);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toEqual({ error });
  });

  it('names the allowed methods on a 405', async () => {
    const { response } = await rawExchange(target(), request('PATCH', '/v1/things'));
    expect(response).toMatch(/^allow: GET, HEAD, POST$/im);
  });

  it('survives a client that announces a body, sends part of it and hangs up', async () => {
    for (let i = 0; i < 20; i++) {
      await rawExchange(
        target(),
        request('POST', '/v1/things', { 'content-type': 'application/json', 'content-length': '1000' }, '{"id":'),
        { hangUp: true },
      );
    }
    expect((await rawExchange(target(), request('GET', '/v1/things'))).status).toBe(200);
  });

  it('answers garbage that is not HTTP with 400 and keeps serving', async () => {
    expect(
      (await rawExchange(target(), Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x0a, 0x0d, 0x0a, 0x0d]))).status,
    ).toBe(400);
    expect((await rawExchange(target(), 'GET / HTTP/1.1\r\nbad header line\r\n\r\n')).status).toBe(400);
    expect((await rawExchange(target(), `GET /v1/things HTTP/1.1\r\nx: ${'y'.repeat(20_000)}\r\n\r\n`)).status).toBe(
      431,
    );
    expect((await rawExchange(target(), request('GET', '/v1/things'))).status).toBe(200);
  });

  it('takes a JSON body and hands it to the handler', async () => {
    const { status } = await rawExchange(
      target(),
      request(
        'POST',
        '/v1/things',
        { 'content-type': 'application/json; charset=utf-8', 'content-length': '11' },
        '{"id":"x1"}',
      ),
    );
    expect(status).toBe(200);
    expect(seen).toContainEqual({ id: 'x1' });
  });

  it('refuses to take over a path that is not a socket', async () => {
    const other = new HttpServer({ routes: {}, maxConnections: 1, logger: silentLogger });
    await expect(other.listenUnix(path.join(tmp.dir), 0o660)).rejects.toMatchObject({ code: 'UNSAFE_FILE' });
  });
});

describe('the health endpoint guard', () => {
  const bound = (address: string, port = 4434): AddressInfo => ({
    address,
    port,
    family: address.includes(':') ? 'IPv6' : 'IPv4',
  });

  it.each([
    ['127.0.0.1:4434', '127.0.0.1', true],
    ['localhost:4434', '127.0.0.1', true],
    ['LOCALHOST:4434', '127.0.0.1', true],
    ['[::1]:4434', '::1', true],
    ['localhost:4434', '::1', true],
    ['127.0.0.1:4435', '127.0.0.1', false],
    ['127.0.0.1', '127.0.0.1', false],
    ['attacker.example:4434', '127.0.0.1', false],
    ['127.0.0.1.nip.io:4434', '127.0.0.1', false],
    ['10.0.0.5:4434', '0.0.0.0', true],
    ['attacker.example:4434', '0.0.0.0', false],
    ['', '127.0.0.1', false],
    ['127.0.0.1:4434:1', '127.0.0.1', false],
  ])('Host %j on %s: %s', (host, address, ok) => {
    expect(hostMatches(host, bound(address))).toBe(ok);
  });

  it('refuses a rebound Host and a cross-origin request on a live server, and serves the rest', async () => {
    const health = healthServer({ 'GET /healthz': () => ({ status: 200, body: { status: 'ok' } }) }, silentLogger);
    const { port } = await health.listen('127.0.0.1', 0);
    try {
      const t = { port };
      expect((await rawExchange(t, request('GET', '/healthz', { host: `127.0.0.1:${port}` }))).status).toBe(200);
      expect((await rawExchange(t, request('GET', '/healthz', { host: `localhost:${port}` }))).status).toBe(200);
      expect(
        (await rawExchange(t, request('GET', '/healthz', { host: `rebind.attacker.example:${port}` }))).status,
      ).toBe(421);
      expect((await rawExchange(t, request('GET', '/healthz', { host: '' }))).status).toBe(400); // HTTP/1.1 without Host is malformed
      expect(
        (
          await rawExchange(
            t,
            request('GET', '/healthz', { host: `127.0.0.1:${port}`, origin: 'https://attacker.example' }),
          )
        ).status,
      ).toBe(403);
      expect((await rawExchange(t, request('POST', '/healthz', { host: `127.0.0.1:${port}` }))).status).toBe(405);
    } finally {
      await health.close();
    }
  });
});

describe('connections at the cap', () => {
  it('lets a newcomer in by closing the oldest idle connection, so held keep-alives cannot lock probes out', async () => {
    const health = healthServer({ 'GET /healthz': () => ({ status: 200, body: { status: 'ok' } }) }, silentLogger);
    const { port } = await health.listen('127.0.0.1', 0);
    const net = await import('node:net');
    const held: import('node:net').Socket[] = [];
    try {
      // 64 connections (the cap), each after one request kept alive and idle.
      await Promise.all(
        Array.from(
          { length: 64 },
          () =>
            new Promise<void>((resolve) => {
              const s = net.connect(port, '127.0.0.1', () =>
                s.write(`GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`),
              );
              s.once('data', () => resolve());
              s.on('error', () => {});
              held.push(s);
            }),
        ),
      );
      const probes = await Promise.all(
        Array.from({ length: 5 }, () =>
          rawExchange({ port }, request('GET', '/healthz', { host: `127.0.0.1:${port}` })),
        ),
      );
      expect(probes.map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
    } finally {
      for (const s of held) s.destroy();
      await health.close();
    }
  });
});
