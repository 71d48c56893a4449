import { createSocket } from "node:dgram"
import { lookup } from "node:dns/promises"
import type { Delivery } from "./deliver.ts"

/** Sends again after this long without an ack: UDP may lose a datagram on the way. */
export const udpRetryMs = 1000

/**
 * One heartbeat as one UDP datagram with `"ack": true`, sent again every second until the receiver
 * answers or `timeoutMs` is up. `{"ok":true}` is `sent`, `{"ok":false,...}` is `refused` (with the
 * receiver's reason), silence is `timed_out`.
 */
export const deliverUdp = async (host: string, port: number, heartbeat: Record<string, unknown>, timeoutMs: number): Promise<Delivery> => {
  const started = Date.now()
  const endpoint = `udp://${host.includes(":") ? `[${host}]` : host}:${port}`
  const finished = (outcome: Delivery["outcome"], detail?: string): Delivery => ({ endpoint, outcome, detail, elapsedMs: Date.now() - started })
  let address: { address: string; family: number }
  try {
    address = await lookup(host)
  } catch (error) {
    return finished("failed", `cannot resolve ${host}: ${(error as Error).message}`)
  }
  const datagram = Buffer.from(JSON.stringify({ ...heartbeat, ack: true }))
  const socket = createSocket(address.family === 6 ? "udp6" : "udp4")
  return new Promise<Delivery>((resolve) => {
    let done = false
    const timers: Array<NodeJS.Timeout> = []
    const finish = (delivery: Delivery) => {
      if (done) return
      done = true
      for (const timer of timers) clearTimeout(timer)
      socket.close()
      resolve(delivery)
    }
    socket.on("message", (message, from) => {
      if (from.address !== address.address || from.port !== port) return
      let answer: { ok?: unknown; reason?: unknown }
      try {
        answer = JSON.parse(message.toString("utf8"))
      } catch {
        return
      }
      if (answer.ok === true) finish(finished("sent"))
      else finish(finished("refused", `receiver answered ${typeof answer.reason === "string" ? answer.reason : "not ok"}`))
    })
    socket.on("error", (error) => finish(finished("failed", error.message)))
    const send = () => socket.send(datagram, port, address.address, (error) => error && finish(finished("failed", error.message)))
    for (let at = 0; at < timeoutMs; at += udpRetryMs) timers.push(setTimeout(send, at))
    timers.push(setTimeout(() => finish(finished("timed_out", `no ack within ${timeoutMs} ms`)), timeoutMs))
  })
}
