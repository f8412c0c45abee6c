// Replayable request bodies (linkerd2-proxy ReplayBody): the first attempt streams the body while
// a copy is kept, up to a cap. A retry replays the copy, possible only once the body has ended
// within the cap; a larger body streams through once and is not retried. Never waits for the
// whole body before sending, so streaming and bidirectional gRPC calls flow.
import { PassThrough, type Readable } from "node:stream";
import type { RequestBody } from "../../core/handler.js";

export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

type State = "reading" | "complete" | "too-large" | "failed" | "not-recorded";

export interface ReplayableBody {
  /** Body to send on the first attempt. */
  readonly first: RequestBody;
  state(): State;
  /** Waits at most `ms` for the body to end; true when it can be replayed. */
  ready(ms: number): Promise<boolean>;
  /** The recorded body; only when state() is "complete". */
  replay(): RequestBody;
}

function fixed(body: RequestBody, state: State): ReplayableBody {
  return { first: body, state: () => state, ready: async () => state === "complete", replay: () => body };
}

/** A body sent once and not recorded (a route without retries): replayable only when not a stream. */
export function unrecorded(body: RequestBody): ReplayableBody {
  return fixed(body, body.kind === "stream" ? "not-recorded" : "complete");
}

export function replayable(body: RequestBody, cap = DEFAULT_MAX_BUFFER_BYTES): ReplayableBody {
  if (body.kind !== "stream") return fixed(body, "complete");
  if (body.length !== undefined && body.length > cap) return fixed(body, "too-large");
  const source = body.stream;
  const tee = new PassThrough();
  tee.on("error", () => {}); // the attempt reading it reports failures
  let state: State = "reading";
  let chunks: Buffer[] = [];
  let size = 0;
  const settled: (() => void)[] = [];
  const settle = (s: State) => {
    if (state !== "reading") return;
    state = s;
    if (s !== "complete") chunks = [];
    for (const fn of settled.splice(0)) fn();
  };
  source.on("data", (chunk: Buffer | string) => {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (state === "reading") {
      size += buf.length;
      if (size > cap) settle("too-large");
      else chunks.push(buf);
    }
    // Under the cap the copy is in memory anyway; past it, respect the first attempt's pace.
    if (!tee.write(buf) && state === "too-large" && !tee.destroyed) {
      source.pause();
      tee.once("drain", () => source.resume());
    }
  });
  source.once("end", () => {
    settle("complete");
    tee.end();
  });
  source.once("error", (err) => {
    settle("failed");
    tee.destroy(err);
  });
  source.once("close", () => {
    if (state === "reading") {
      settle("failed");
      tee.destroy(new Error("client closed the request before its body ended"));
    }
  });
  return {
    first: { kind: "stream", stream: tee as Readable, length: body.length },
    state: () => state,
    ready: (ms) =>
      state !== "reading"
        ? Promise.resolve(state === "complete")
        : new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), ms);
            settled.push(() => {
              clearTimeout(timer);
              resolve(state === "complete");
            });
          }),
    replay: () => ({ kind: "buffered", data: Buffer.concat(chunks, size) }),
  };
}
