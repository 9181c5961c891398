// Logging to stderr (journald under systemd) through winston. Data goes in fields, never in the
// message, so the message is a fixed phrase an operator can paste into a search.
//
// Text format: an AhError is logged as the guide's exact line (`error: <message>`), followed by
// `  hint: ...` and `  detail: ...` lines, so the quoted line is exactly what journalctl shows.
// Other entries are one line: `info: enrolled executor_id=spiffe://... name=a`.
// JSON format: one object per line with time, level, message, code, hint and the fields.
//
// Much of what is logged came from outside (an executor's name, a peer certificate's names, the
// error facts a peer sent), so every format makes sure one entry reads as one entry: the only line
// breaks are the format's own, and no CR, LF, ESC, C1 or bidi character from a message, key or
// value reaches the journal or a terminal raw (text: `\x1b`, JSON: `\u001b`); no single value is
// longer than TEXT_MAX characters (cut with a marker saying how much was cut).

import { Writable } from 'node:stream';
import winston from 'winston';
import { isAhError } from './errors.js';
import { boundLength, escapeControl, escapeJsonControl, hasControlCharacters, TEXT_MAX, textOf } from './escape.js';

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

/**
 * One key or string value of a text line. It is quoted when it would not read as one token on its
 * own (empty, whitespace, `"`, `=`) or holds a control character; inside quotes `"` and `\` are
 * escaped, so a quoted `\n` is always an escaped newline and never a backslash someone sent.
 */
function token(text: string): string {
  if (text !== '' && !/[\s"=]/.test(text) && !hasControlCharacters(text)) return text;
  return `"${escapeControl(text.replace(/["\\]/g, '\\$&'))}"`;
}

function fieldValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return token(value);
  // Numbers, booleans and objects as JSON: C0 is escaped by JSON.stringify, the rest here.
  return escapeJsonControl(JSON.stringify(value) ?? 'undefined');
}

/** A value cut to TEXT_MAX characters; an object that would print longer becomes its cut JSON. */
function bounded(value: unknown): unknown {
  if (typeof value === 'string') return boundLength(value, TEXT_MAX);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    // A cycle or a bigint: the JSON format copes with both; leave it to the format.
    return value;
  }
  return json !== undefined && json.length > TEXT_MAX ? boundLength(json, TEXT_MAX) : value;
}

/** Fields as they may be logged: secrets redacted, every value bounded. */
function prepare(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = SECRET_FIELD.test(k) ? '[redacted]' : bounded(v);
  }
  return out;
}

const RESERVED = new Set(['level', 'message', 'hint', 'detail', 'code', 'module', 'timestamp']);

function textLine(info: winston.Logform.TransformableInfo): string {
  const fields = Object.entries(info).filter(([k]) => !RESERVED.has(k) && typeof k === 'string');
  const fieldText = fields.map(([k, v]) => `${token(k)}=${fieldValue(v)}`).join(' ');
  const head = `${info.level}: ${escapeControl(String(info.message))}`;
  if (info.code !== undefined) {
    // An AhError: keep the guide's line exact and put everything else on the lines below it.
    const lines = [head];
    if (info.detail) lines.push(`  detail: ${escapeControl(textOf(info.detail))}`);
    if (info.hint) lines.push(`  hint: ${escapeControl(textOf(info.hint))}`);
    if (fieldText) lines.push(`  ${fieldText}`);
    return lines.join('\n');
  }
  // A plain entry that names a fix (a warning with `hint`) keeps it, last, on the same line.
  const withHint = info.hint ? [fieldText, `hint=${fieldValue(info.hint)}`].filter(Boolean).join(' ') : fieldText;
  return withHint ? `${head} ${withHint}` : head;
}

// winston's (triple-beam's) key for the formatted line.
const MESSAGE = Symbol.for('message');

/** After winston's JSON format: the characters JSON.stringify leaves raw become `\u` escapes. */
const terminalSafeJson = winston.format((info) => {
  info[MESSAGE] = escapeJsonControl(String(info[MESSAGE]));
  return info;
});

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Parses AH_LOG: comma-separated `module=level` pairs and optionally a bare default level, e.g.
 * `identity=debug,fleet=warn`. The guide's RUST_LOG-style names work too: `ah_identity_provider=debug`
 * means the identity module. Returns undefined for an empty value; throws on a malformed one.
 */
export function parseModuleLevels(
  value: string | undefined,
): { level?: LogLevel; modules: Record<string, LogLevel> } | undefined {
  if (!value?.trim()) return undefined;
  const modules: Record<string, LogLevel> = {};
  let level: LogLevel | undefined;
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, lvl] = part.includes('=') ? (part.split('=', 2) as [string, string]) : [undefined, part];
    const parsed = lvl.toLowerCase() === 'trace' ? 'debug' : lvl.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(parsed))
      throw new Error(`invalid level "${lvl}" in AH_LOG (expected ${LOG_LEVELS.join(', ')})`);
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
    // Fields first: a field cannot replace the level, the message or the module. (The JSON format
    // sorts keys, and the text format puts them in a fixed place, so the order shows nowhere.)
    this.inner.log({
      ...prepare(fields),
      level,
      message: boundLength(message, TEXT_MAX),
      ...(this.module ? { module: this.module } : {}),
    });
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
      ? winston.format.combine(winston.format.timestamp(), winston.format.json(), terminalSafeJson())
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
