import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { freeUdpPort, parsePrometheus, udpClient } from "./support/ingressClients.ts"

const token = "udp-token-0123456789"

describe("UDP ingress (real daemon, real datagrams)", () => {
  let daemon: RunningDaemon
  let base: string
  let udpPort: number
  let workspace: ReturnType<typeof makeWorkspace>

  beforeAll(async () => {
    const httpPort = await freePort()
    udpPort = await freeUdpPort()
    base = `http://127.0.0.1:${httpPort}`
    workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
receiver_name: rx-udp
udp:
  listen: "127.0.0.1:${udpPort}"
  rate_per_source: 1
  burst_per_source: 30
clients:
  Udp:
    token: ${token}
    timeout: 10
http:
  listen: "127.0.0.1:${httpPort}"
`)
    daemon = await startDaemon(workspace)
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  const metrics = async () => parsePrometheus(await (await fetch(`${base}/metrics`)).text())
  const resource = (name: string) => fetch(`${base}/api/resources/Udp/${name}`)

  it("takes a datagram as a heartbeat, answers an ack no larger than the datagram, and refuses what the ZeroMQ wire refuses", async () => {
    const client = await udpClient(udpPort)
    // Without ack: taken, not answered.
    await client.send(JSON.stringify({ token, resource: "quiet.example.com", payload: { uptime: 5 } }))
    for (let i = 0; i < 100 && (await resource("quiet.example.com")).status !== 200; i++) await new Promise((r) => setTimeout(r, 50))
    const quiet = await (await resource("quiet.example.com")).json()
    expect(quiet).toMatchObject({ client: "Udp", resource: "quiet.example.com", payload: { uptime: 5 } })
    // With ack: one small JSON answer per datagram.
    await client.send(JSON.stringify({ token, resource: "acked.example.com", ack: true }))
    await client.send(JSON.stringify({ token: "wrong-token-xyz", resource: "acked.example.com", ack: true }))
    await client.send(JSON.stringify({ token, resource: "acked.example.com", payload: "junk", ack: true }))
    await client.send("not json")
    // A frame that asks for an ack but is too small to carry one: no answer at all.
    await client.send('{"token":1,"ack":true}')
    await client.send(JSON.stringify({ token, resource: "quiet.example.com", deregister: true, ack: true }))
    await waitFor("four acks", () => (client.answers.length >= 4 ? true : undefined))
    await new Promise((r) => setTimeout(r, 200))
    expect(client.answers).toEqual([
      '{"ok":true}',
      '{"ok":false,"reason":"unknown_token"}',
      '{"ok":false,"reason":"invalid_field"}',
      '{"ok":true}'
    ])
    client.close()
    expect((await resource("acked.example.com")).status).toBe(200)
    const samples = await metrics()
    expect(samples.get('heartbeat_mesh_ingress_received_total{transport="udp"}')).toBe(7)
    expect(samples.get('heartbeat_mesh_ingress_accepted_total{transport="udp"}')).toBe(2)
    expect(samples.get('heartbeat_mesh_ingress_deregistered_total{transport="udp"}')).toBe(1)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="udp",reason="unknown_token"}')).toBe(1)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="udp",reason="invalid_field"}')).toBe(2)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="udp",reason="not_json"}')).toBe(1)
    expect(samples.get("heartbeat_mesh_udp_acks_sent_total")).toBe(4)
    // The plain ZeroMQ counters are the ZeroMQ socket's own.
    expect(samples.get("heartbeat_mesh_heartbeats_received_total")).toBe(0)
    // Notifications go out concurrently (notify_devilry runs through up to two spawn helpers): wait for each.
    await waitFor("the new resource", () => workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_new" && n.resource === "acked.example.com"))
    await waitFor("the deregistration", () => workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_deregistered" && n.resource === "quiet.example.com"))
    expect(daemon.stderr()).not.toContain(token)
  })

  it("rate limits per source address: past the burst a flood is dropped and counted, another source still gets through", async () => {
    const flooder = await udpClient(udpPort)
    const before = (await metrics()).get('heartbeat_mesh_ingress_received_total{transport="udp"}')!
    for (let i = 0; i < 200; i++) await flooder.send(JSON.stringify({ token, resource: `flood${i}.example.com`, ack: true }))
    let samples = await metrics()
    for (let i = 0; i < 100 && samples.get('heartbeat_mesh_ingress_received_total{transport="udp"}')! < before + 200; i++) {
      await new Promise((r) => setTimeout(r, 50))
      samples = await metrics()
    }
    const limited = samples.get('heartbeat_mesh_ingress_rejected_total{transport="udp",reason="rate_limited"}')!
    // Burst 30, refilled at 1/s: at least 200 - 30 - (seconds the flood took) were dropped.
    expect(limited).toBeGreaterThanOrEqual(160)
    expect(flooder.answers.length).toBe(200 - limited)
    flooder.close()
    // The flood's own source is throttled; the receiver is not: another address goes through.
    const other = await udpClient(udpPort, "127.0.0.2")
    await other.send(JSON.stringify({ token, resource: "after-flood.example.com", ack: true }))
    await waitFor("the other source's ack", () => (other.answers.length === 1 ? true : undefined))
    expect(other.answers).toEqual(['{"ok":true}'])
    other.close()
    expect(daemon.process.exitCode).toBeNull()
  })
})
