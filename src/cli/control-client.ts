// Talks to the access point's control socket for `ah agent executors`, `revoke` and `unrevoke`:
// HTTP with JSON over the unix socket in the state directory (curl --unix-socket works too).

import http from 'node:http';
import path from 'node:path';
import { AhError, errorText } from '../core/errors.js';

export const CONTROL_SOCKET_FILE = 'control.sock';
const TIMEOUT_MS = 10_000;
/** Answers larger than this are not the control API (the fleet list of 10,000 executors is ~10 MB). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** --control-socket, else <state-dir>/control.sock. */
export function controlSocketPath(flags: { controlSocket?: string; stateDir: string }): string {
  return flags.controlSocket ?? path.join(flags.stateDir, CONTROL_SOCKET_FILE);
}

function unreachable(socketPath: string, e: NodeJS.ErrnoException): AhError {
  const reason =
    e.code === 'ENOENT'
      ? 'no such socket'
      : e.code === 'EACCES' || e.code === 'EPERM'
        ? 'permission denied'
        : e.code === 'ECONNREFUSED'
          ? 'nobody is listening on it'
          : errorText(e);
  return new AhError('CONTROL_SOCKET_UNREACHABLE', { path: socketPath, reason }, { cause: e });
}

export function controlRequest(
  socketPath: string,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        // The host is not looked at over a unix socket; it only has to be a valid header.
        headers: {
          host: 'ah-control',
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', (e) => reject(new AhError('CONNECTION_LOST', { reason: errorText(e) })));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code ? unreachable(socketPath, e) : new AhError('CONNECTION_LOST', { reason: errorText(e) })),
    );
    req.end(payload);
  });
}
