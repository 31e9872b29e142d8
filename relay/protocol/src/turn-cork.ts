/**
 * One write syscall per socket per event-loop turn, for both ends of the protocol (the relay's
 * sessions, the loadgen's connections): frames written to one WebSocket in one turn (the acks of a
 * produce batch, a replay, several confirmations) leave in one `writev` instead of one write each.
 * Cork on the first write of a turn; uncork every socket corked this turn on the next tick (one
 * tick callback per turn, not per socket).
 *
 * ws has no public cork(): its net.Socket sits in the private `_socket` field. This module is the
 * one place that reaches into it; if ws renames the field, corking silently stops (frames still
 * go out, one write each) and only this file changes. Not for concurrent use across threads.
 */
type Corkable = { readonly writableCorked: number; cork(): void; uncork(): void };

const corkedThisTurn: Corkable[] = [];

/** The ws WebSocket's underlying socket (undefined before it connects or after it closed). */
function socketOf(ws: object): Corkable | undefined {
  return (ws as { _socket?: Corkable })._socket;
}

function uncorkAll(): void {
  for (const socket of corkedThisTurn.splice(0)) socket.uncork(); // a no-op on an uncorked socket
}

/** Corks `ws`'s socket until the next tick, unless it is corked already. */
export function corkForTurn(ws: object): void {
  const socket = socketOf(ws);
  if (socket === undefined || socket.writableCorked > 0) return;
  socket.cork();
  if (corkedThisTurn.push(socket) === 1) process.nextTick(uncorkAll);
}

/** Hands what this turn corked on `ws` to the kernel now (e.g. before reading `bufferedAmount`). */
export function uncorkNow(ws: object): void {
  const socket = socketOf(ws);
  if (socket !== undefined && socket.writableCorked > 0) socket.uncork();
}
