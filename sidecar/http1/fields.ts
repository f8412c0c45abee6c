// Header fields as HTTP/1.1 lines, for both codecs' writers (request heads to the upstream,
// response heads downstream, the 101 of a tunnel). Names must be tokens and values free of
// CR/LF/NUL, or a field could inject lines of its own (request/response splitting).
import type { HeaderMap } from "../core/handler.js";
import { isToken } from "./syntax.js";

const UNSAFE = /[\r\n\0]/;

/** A CR, LF or NUL in `value`. */
export function unsafeValue(value: string): boolean {
  return UNSAFE.test(value);
}

/** `name: value\r\n` for every field not in `skip` (repeated names as repeated lines); throws `refuse(message)`. */
export function fieldLines(headers: HeaderMap, skip: ReadonlySet<string>, refuse: (message: string) => Error): string {
  let text = "";
  for (const name in headers) {
    if (skip.has(name)) continue;
    if (!isToken(name)) throw refuse(`invalid header name ${JSON.stringify(name)}`);
    const value = headers[name]!;
    if (typeof value === "string") {
      if (UNSAFE.test(value)) throw refuse(`invalid value for header ${name}`);
      text += `${name}: ${value}\r\n`;
    } else
      for (const v of value) {
        if (UNSAFE.test(v)) throw refuse(`invalid value for header ${name}`);
        text += `${name}: ${v}\r\n`;
      }
  }
  return text;
}
