// Logging to stderr (journald under systemd) through winston. Data goes in fields, never in the
// message, so the message is a fixed phrase an operator can paste into a search.
//
// Text format: an AhError is logged as the guide's exact line (`error: <message>`), followed by
// `  hint: ...` and `  detail: ...` lines, so the quoted line is exactly what journalctl shows.
// Other entries are one line: `info: enrolled executor_id=spiffe://... name=a`.
// JSON format: one object per line with time, level, message, code, hint and the fields.

import { Writable } from 'node:stream';
import winston from 'winston';
import { isAhError } from './errors.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Logs an AhError (or anything thrown) at the given level with its hint and detail. */
  failure(level: 'error' | 'warn', error: unknown, fields?: LogFields): void;
  child(module: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Finer levels per module (AH_LOG), e.g. { identity: 'debug' }; a module path matches by prefix. */
  moduleLevels?: Record<string, LogLevel>;
  format?: LogFormat;
  /** Where lines go; defaults to stderr. Tests pass a collector. */
  write?: (line: string) => void;
}

// Field names whose values must never reach a log, whatever the caller passes.
const SECRET_FIELD = /secret|token|password|private|key_pem/i;

function fieldValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? 'undefined';
}

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = SECRET_FIELD.test(k) ? '[redacted]' : v;
  }
  return out;
}

const RESERVED = new Set(['level', 'message', 'hint', 'detail', 'code', 'module', 'timestamp']);

function textLine(info: winston.Logform.TransformableInfo): string {
  const fields = Object.entries(info).filter(([k]) => !RESERVED.has(k) && typeof k === 'string');
  const fieldText = fields.map(([k, v]) => `${k}=${fieldValue(v)}`).join(' ');
  const head = `${info.level}: ${String(info.message)}`;
  if (info.code !== undefined) {
    // An AhError: keep the guide's line exact and put everything else on the lines below it.
    const lines = [head];
    if (info.detail) lines.push(`  detail: ${String(info.detail)}`);
    if (info.hint) lines.push(`  hint: ${String(info.hint)}`);
    if (fieldText) lines.push(`  ${fieldText}`);
    return lines.join('\n');
  }
  return fieldText ? `${head} ${fieldText}` : head;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Parses AH_LOG: comma-separated `module=level` pairs and optionally a bare default level, e.g.
 * `identity=debug,fleet=warn`. The guide's RUST_LOG-style names work too: `ah_identity_provider=debug`
 * means the identity module. Returns undefined for an empty value; throws on a malformed one.
 */
export function parseModuleLevels(value: string | undefined): { level?: LogLevel; modules: Record<string, LogLevel> } | undefined {
  if (!value?.trim()) return undefined;
  const modules: Record<string, LogLevel> = {};
  let level: LogLevel | undefined;
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, lvl] = part.includes('=') ? (part.split('=', 2) as [string, string]) : [undefined, part];
    const parsed = lvl.toLowerCase() === 'trace' ? 'debug' : lvl.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(parsed)) throw new Error(`invalid level "${lvl}" in AH_LOG (expected ${LOG_LEVELS.join(', ')})`);
    if (name === undefined) level = parsed as LogLevel;
    else modules[name.replace(/^ah_/, '').split(/[_:]/)[0] as string] = parsed as LogLevel;
  }
  return { ...(level ? { level } : {}), modules };
}

class WinstonLogger implements Logger {
  constructor(
    private readonly inner: winston.Logger,
    private readonly module: string | undefined,
    private readonly levels: { base: LogLevel; modules: Record<string, LogLevel> },
  ) {}

  /** The level in force for this module: the longest matching AH_LOG entry, else the base level. */
  private threshold(): number {
    if (this.module) {
      const parts = this.module.split(':');
      for (let i = parts.length; i > 0; i--) {
        const level = this.levels.modules[parts.slice(0, i).join(':')];
        if (level) return RANK[level];
      }
    }
    return RANK[this.levels.base];
  }

  private log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (RANK[level] > this.threshold()) return;
    this.inner.log({ level, message, ...(this.module ? { module: this.module } : {}), ...redact(fields) });
  }

  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }

  failure(level: 'error' | 'warn', error: unknown, fields: LogFields = {}): void {
    if (isAhError(error)) {
      this.log(level, error.message, { code: error.code, hint: error.hint, detail: error.detail, ...fields });
    } else {
      this.log(level, error instanceof Error ? error.message : String(error), fields);
    }
  }

  child(module: string): Logger {
    return new WinstonLogger(this.inner, this.module ? `${this.module}:${module}` : module, this.levels);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const formatter =
    options.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.printf((info) => textLine(info));
  // winston's Stream transport appends EOL to each entry; the sink strips it and hands over lines.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk.toString('utf8').replace(/\r?\n$/, ''));
      callback();
    },
  });
  const base = options.level ?? 'info';
  const modules = options.moduleLevels ?? {};
  // winston passes everything; each logger filters by its module's level.
  const inner = winston.createLogger({
    level: 'debug',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: formatter,
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return new WinstonLogger(inner, undefined, { base, modules });
}

/** A logger that drops everything; for library callers that pass none. */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  failure: () => {},
  child: () => silentLogger,
};
