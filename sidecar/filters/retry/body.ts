// Makes a request body replayable for retries: buffers a streamed body up to a cap. A larger body
// is streamed through once (the bytes already read are put back in front) and is not retried.
import { Readable } from "node:stream";
import { MeshError, type RequestBody } from "../../core/handler.js";

export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

type ReadResult = { complete: true; data: Buffer } | { complete: false; head: Buffer[] };

function readUpTo(stream: Readable, cap: number): Promise<ReadResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      size += buf.length;
      if (size > cap) {
        stream.pause();
        cleanup();
        resolve({ complete: false, head: chunks });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ complete: true, data: Buffer.concat(chunks, size) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new MeshError(400, "TSMESH_ERR_REQUEST_BODY", `reading the request body failed: ${err.message}`));
    };
    const onClose = () => onError(new Error("client closed the request before its body ended"));
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
    stream.once("close", onClose);
  });
}

async function* replay(head: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}

export async function makeReplayable(body: RequestBody, cap = DEFAULT_MAX_BUFFER_BYTES): Promise<{ body: RequestBody; replayable: boolean }> {
  if (body.kind !== "stream") return { body, replayable: true };
  if (body.length !== undefined && body.length > cap) return { body, replayable: false };
  const read = await readUpTo(body.stream, cap);
  if (read.complete) return { body: { kind: "buffered", data: read.data }, replayable: true };
  const stream = Readable.from(replay(read.head, body.stream), { objectMode: false });
  return { body: { kind: "stream", stream, length: body.length }, replayable: false };
}
