// Structured JSON logs, one line per event on stderr. Fields named like secrets are masked so a
// token or private key never reaches a log line, whoever calls the logger.
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /(token|secret|password|authorization|private.?key|^key$|csr.?key)/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  setLevel(level: Level): void;
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = "[redacted]";
    else if (v instanceof Error) out[k] = { message: v.message, code: (v as NodeJS.ErrnoException).code };
    else out[k] = v;
  }
  return out;
}

interface Sink {
  level: Level;
  write: (line: string) => void;
}

function make(sink: Sink, base: Record<string, unknown>): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[sink.level]) return;
    const line = { time: new Date().toISOString(), level, msg, ...base, ...(fields ? redact(fields) : {}) };
    sink.write(JSON.stringify(line) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => make(sink, { ...base, ...redact(fields) }),
    setLevel: (level) => {
      sink.level = level;
    },
  };
}

function envLevel(): Level {
  const v = process.env.TSMESH_LOG_LEVEL;
  return v === "debug" || v === "info" || v === "warn" || v === "error" ? v : "info";
}

export function createLogger(
  component: string,
  opts: { level?: Level; write?: (line: string) => void } = {},
): Logger {
  const sink: Sink = { level: opts.level ?? envLevel(), write: opts.write ?? ((l) => process.stderr.write(l)) };
  return make(sink, { component });
}
