import { Push } from "zeromq"

export type DeliveryOutcome = "sent" | "refused" | "timed_out" | "failed"

export interface Delivery {
  readonly endpoint: string
  readonly outcome: DeliveryOutcome
  readonly detail: string | undefined
  readonly elapsedMs: number
}

/**
 * Hands one heartbeat to one receiver over a PUSH socket. `immediate` makes ZeroMQ queue the
 * message only on a completed connection, so a resolved send means the receiver took the
 * connection; closing with a linger flushes it. A receiver that refuses the connection (or whose
 * handshake fails) is given up at the first retry, a few milliseconds in; one that never answers
 * is given up at the deadline.
 */
export const deliver = async (
  endpoint: string,
  message: string,
  timeoutMs: number,
  /** CURVE: the receiver's public key and this sender's key pair; the handshake then encrypts the connection. */
  curve?: { readonly serverKey: string; readonly publicKey: string; readonly secretKey: string }
): Promise<Delivery> => {
  const started = Date.now()
  const socket = new Push({
    immediate: true,
    sendTimeout: timeoutMs,
    linger: Math.min(timeoutMs, 2000),
    ipv6: endpoint.includes("["),
    ...(curve === undefined ? {} : { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey })
  })
  let refusal: string | undefined
  const finished = (outcome: DeliveryOutcome, detail?: string): Delivery => ({
    endpoint,
    outcome,
    detail,
    elapsedMs: Date.now() - started
  })
  const watchEvents = async () => {
    try {
      for await (const event of socket.events) {
        if (event.type === "handshake") return
        if (event.type === "connect:retry" || event.type.startsWith("handshake:error")) {
          refusal = event.type === "connect:retry" ? "connection refused or unreachable" : `handshake failed (${event.type})`
          socket.close()
          return
        }
      }
    } catch {
      // The events stream ends when the socket closes.
    }
  }
  void watchEvents()
  try {
    socket.connect(endpoint)
    await socket.send(message)
    return finished("sent")
  } catch (error) {
    if (refusal !== undefined) return finished("refused", refusal)
    const code = (error as { code?: string }).code
    if (code === "EAGAIN") return finished("timed_out", `no answer within ${timeoutMs} ms`)
    return finished("failed", (error as Error).message)
  } finally {
    if (!socket.closed) socket.close()
  }
}
