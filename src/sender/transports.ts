import type { SenderTarget } from "../config/SenderConfig.ts"
import { tcpEndpoint } from "../support/zmqEndpoint.ts"
import { deliver, type Delivery } from "./deliver.ts"

const hostPort = (target: SenderTarget) =>
  `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`

/** Where a heartbeat for `target` goes, for logs and --dry-run (never with the token). */
export const targetAddress = (target: SenderTarget): string => {
  const transport = target.transport
  switch (transport?.kind) {
    case undefined:
    case "zmq":
      return tcpEndpoint(target.host, target.port)
    case "curve":
      return `curve+${tcpEndpoint(target.host, target.port)}`
    case "udp":
      return `udp://${hostPort(target)}`
    case "http":
      return transport.url === "" ? `http://${hostPort(target)}` : transport.url
  }
}

/**
 * Hands one heartbeat to one receiver over its transport (sender.yaml `transport`, issue 19). The
 * plain ZeroMQ wire is the default and the only one loaded for a sender that uses no other: CURVE
 * keys, UDP and HTTP code are imported when a receiver asks for them.
 */
export const deliverTo = async (target: SenderTarget, heartbeat: Record<string, unknown>, timeoutMs: number): Promise<Delivery> => {
  const transport = target.transport
  switch (transport?.kind) {
    case undefined:
    case "zmq":
      return deliver(tcpEndpoint(target.host, target.port), JSON.stringify(heartbeat), timeoutMs)
    case "curve": {
      const { generateCurveKeyPair, readCurveKeyFile } = await import("../support/curveKeys.ts")
      const endpoint = targetAddress(target)
      let pair
      try {
        pair = transport.keyFile === undefined ? generateCurveKeyPair() : await readCurveKeyFile(transport.keyFile)
      } catch (error) {
        return { endpoint, outcome: "failed", detail: (error as Error).message, elapsedMs: 0 }
      }
      const delivery = await deliver(tcpEndpoint(target.host, target.port), JSON.stringify(heartbeat), timeoutMs, {
        serverKey: transport.serverKey,
        ...pair
      })
      return { ...delivery, endpoint }
    }
    case "udp": {
      const { deliverUdp } = await import("./udpDelivery.ts")
      return deliverUdp(target.host, target.port, heartbeat, timeoutMs)
    }
    case "http": {
      const { deliverHttp } = await import("./httpDelivery.ts")
      return deliverHttp(targetAddress(target), heartbeat, timeoutMs)
    }
  }
}
