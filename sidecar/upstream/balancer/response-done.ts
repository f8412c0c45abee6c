// Runs `done` once when a response is finished with: its body ended, errored or was destroyed,
// or at once for a bodiless response. Used to hold a slot (active request, breaker) for the
// whole exchange rather than until headers.
import type { MeshResponse } from "../../core/handler.js";

export function onResponseDone(res: MeshResponse, done: () => void): void {
  const body = res.body;
  if (!body || body.destroyed || body.readableEnded) {
    done();
    return;
  }
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    body.off("end", once);
    body.off("close", once);
    body.off("error", once);
    done();
  };
  body.once("end", once);
  body.once("close", once);
  body.once("error", once);
}
