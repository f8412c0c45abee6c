// Two sockets joined into one byte pipe in both directions (an upgraded connection, a CONNECT
// tunnel to a host outside the mesh): half-closes are passed on, and when either side closes the
// other is closed too. `done` is called once both have closed.
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

export function splice(down: Socket, up: Duplex, head: Buffer | undefined, done?: () => void): void {
  if (head && head.length > 0) up.write(head);
  let open = 2;
  const closed = () => {
    if (--open === 0) done?.();
  };
  down.once("close", () => (up.destroy(), closed()));
  up.once("close", () => (down.destroy(), closed()));
  up.on("error", () => down.destroy());
  down.pipe(up);
  up.pipe(down);
}
