import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { parsePrometheus } from "./support/ingressClients.ts"

const readToken = "feed-read-token-0123"

interface Message {
  readonly event: string
  readonly data: any
}

/** A real WebSocket client that keeps every message it gets. */
const connectFeed = (url: string, token: string | undefined) =>
  new Promise<{ socket: WebSocket; messages: Array<Message> }>((resolve, reject) => {
    const socket = new WebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    const messages: Array<Message> = []
    socket.on("message", (data) => messages.push(JSON.parse(String(data))))
    socket.once("open", () => resolve({ socket, messages }))
    socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
    socket.once("error", reject)
  })

describe("live feed over WebSocket (real daemon)", () => {
  let daemon: RunningDaemon
  let base: string
  let push: ReturnType<typeof pushTo>

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `127.0.0.1:${httpPort}`
    daemon = await startDaemon(makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
http:
  listen: "127.0.0.1:${httpPort}"
  read_token: ${readToken}
clients:
  A: { token: token-a-0123456789, timeout: 10 }
  B: { token: token-b-0123456789, timeout: 10 }
`), ["--notifier", "stdout"])
    push = pushTo(daemon.port)
  })
  afterAll(async () => {
    push.close()
    await daemon.stop("SIGKILL")
  })

  it("needs the read token, like the read API", async () => {
    await expect(connectFeed(`ws://${base}/api/feed/ws`, undefined)).rejects.toThrow("HTTP 401")
    await expect(connectFeed(`ws://${base}/api/feed/ws`, "wrong")).rejects.toThrow("HTTP 401")
  })

  it("sends the SSE feed's messages, narrowed by a subscribe message (client, resource glob, event glob)", async () => {
    const everything = await connectFeed(`ws://${base}/api/feed/ws`, readToken)
    const narrow = await connectFeed(`ws://${base}/api/feed/ws`, readToken)
    await waitFor("ready", () => (narrow.messages.length > 0 && everything.messages.length > 0 ? true : undefined))
    expect(narrow.messages[0]).toEqual({ event: "ready", data: {} })
    narrow.socket.send(JSON.stringify({ type: "subscribe", client: "A", resource: "web*", event: "heartbeat_mesh_heartbeat_new" }))
    await waitFor("subscribed", () => narrow.messages.find((m) => m.event === "subscribed"))
    expect(narrow.messages.find((m) => m.event === "subscribed")!.data).toEqual({ client: "A", resource: "web*", event: "heartbeat_mesh_heartbeat_new" })
    await push.heartbeat("token-a-0123456789", "web1.example.com")
    await push.heartbeat("token-a-0123456789", "db1.example.com")
    await push.heartbeat("token-b-0123456789", "web2.example.com")
    await waitFor("the unfiltered client hears all three", () => {
      const heard = everything.messages.filter((m) => m.event === "heartbeats").flatMap((m) => m.data.map((item: any) => item.resource))
      return heard.length >= 3 ? true : undefined
    })
    await waitFor("the narrow client's heartbeat and notification", () =>
      narrow.messages.some((m) => m.event === "heartbeats") && narrow.messages.some((m) => m.event === "notification") ? true : undefined)
    await new Promise((r) => setTimeout(r, 1200))
    const heardNarrow = narrow.messages.filter((m) => m.event === "heartbeats").flatMap((m) => m.data.map((item: any) => `${item.client}/${item.resource}`))
    expect(heardNarrow).toEqual(["A/web1.example.com"])
    const notified = narrow.messages.filter((m) => m.event === "notification").map((m) => `${m.data.event}/${m.data.resource}`)
    expect(notified).toEqual(["heartbeat_mesh_heartbeat_new/web1.example.com"])
    expect(everything.messages.filter((m) => m.event === "notification").map((m) => m.data.resource).sort())
      .toEqual(["db1.example.com", "web1.example.com", "web2.example.com"])
    // A message that is not a subscribe is answered with an error; the filter stays.
    narrow.socket.send("hello?")
    await waitFor("the error answer", () => narrow.messages.find((m) => m.event === "error"))
    const samples = parsePrometheus(await (await fetch(`http://${base}/metrics`, { headers: { authorization: `Bearer ${readToken}` } })).text())
    expect(samples.get("heartbeat_mesh_feed_ws_bad_messages_total")).toBe(1)
    everything.socket.close()
    narrow.socket.close()
  })

  it("drops a client that stops reading; the receiver and the other clients go on", { timeout: 120_000 }, async () => {
    const stalled = await connectFeed(`ws://${base}/api/feed/ws`, readToken)
    const reading = await connectFeed(`ws://${base}/api/feed/ws`, readToken)
    // The stalled client stops reading from its socket: what the receiver sends piles up.
    const stalledConnection = (stalled.socket as unknown as { _socket: { pause: () => void; resume: () => void } })._socket
    stalledConnection.pause()
    const closed = new Promise<void>((r) => stalled.socket.once("close", () => r()))
    let sent = 0
    let dropped = 0
    for (let round = 0; round < 40 && dropped === 0; round++) {
      for (let i = 0; i < 1000; i++) await push.heartbeat("token-b-0123456789", `burst${sent++}.${"x".repeat(400)}.example.com`)
      await new Promise((r) => setTimeout(r, 200))
      const samples = parsePrometheus(await (await fetch(`http://${base}/metrics`, { headers: { authorization: `Bearer ${readToken}` } })).text())
      dropped = samples.get('heartbeat_mesh_feed_ws_dropped_total{reason="slow"}') ?? 0
    }
    expect(dropped).toBe(1)
    // Reading again, the client finds the receiver closed the connection.
    stalledConnection.resume()
    await closed
    // The receiver took every heartbeat meanwhile, and the reading client is still fed.
    const last = `burst${sent - 1}.${"x".repeat(400)}.example.com`
    await waitFor("the reading client hears the last burst", () =>
      reading.messages.some((m) => m.event === "notification" && m.data.resource === last) ? true : undefined)
    const samples = parsePrometheus(await (await fetch(`http://${base}/metrics`, { headers: { authorization: `Bearer ${readToken}` } })).text())
    expect(samples.get("heartbeat_mesh_feed_ws_clients")).toBe(1)
    reading.socket.close()
    expect(daemon.process.exitCode).toBeNull()
  })
})
