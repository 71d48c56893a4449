import { Effect, type Scope } from "effect"

/**
 * A ZeroMQ socket bound to `endpoint` for the life of the scope (closed on failure and at the end).
 * `failure` turns a bind error into the layer's error.
 */
export const acquireBound = <S extends { bind: (endpoint: string) => Promise<void>; close: () => void }, E>(
  make: () => S,
  endpoint: string,
  failure: (error: unknown) => E
): Effect.Effect<S, E, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const socket = make()
        try {
          await socket.bind(endpoint)
        } catch (error) {
          socket.close()
          throw error
        }
        return socket
      },
      catch: failure
    }),
    (socket) => Effect.sync(() => socket.close())
  )

/** The options of a heartbeat PULL socket: frame limits, queue, no linger. */
export const pullOptions = (maxFrameBytes: number, host: string) => ({
  // Past this libzmq drops the sender's connection unread; between our own limit and this
  // a frame is read, counted as oversized and dropped.
  maxMessageSize: maxFrameBytes * 16,
  receiveHighWaterMark: 100_000,
  linger: 0,
  ipv6: host.includes(":")
})
