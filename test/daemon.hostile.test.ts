import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { pushTo, waitForAsync } from "./support/daemonProcess.ts"
import { freeUdpPort, httpRequest, udpClient } from "./support/ingressClients.ts"
import { startWithApi } from "./support/apiDaemon.ts"

const token = "hostile-token-0123456789"

const nested = (depth: number) => `${'{"d":'.repeat(depth)}1${"}".repeat(depth)}`

/**
 * Frames an attacker with a valid token (or without one) may send, each as raw bytes or parts. The
 * issue's own cases first: a 10 KB payload nested 5,000 deep, a timeout of 1e12.
 */
const hostileFrames: ReadonlyArray<readonly [string, string | Buffer | Array<string>]> = [
  ["nested 5,000 deep", `{"token":"${token}","resource":"deep.example.com","payload":${nested(5000)}}`],
  ["timeout 1e12", JSON.stringify({ token, resource: "huge-timeout.example.com", timeout: 1e12 })],
  ["timeout 1e400", `{"token":"${token}","resource":"infinite-timeout.example.com","timeout":1e400}`],
  ["timeout as text", JSON.stringify({ token, resource: "text-timeout.example.com", timeout: "soon" })],
  ["2,000 payload keys", JSON.stringify({ token, resource: "wide.example.com", payload: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])) })],
  ["__proto__ in the payload", `{"token":"${token}","resource":"proto.example.com","payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`],
  ["invalid UTF-8", Buffer.concat([Buffer.from(`{"token":"${token}","resource":"bad-`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('.example.com"}')])],
  ["lone surrogate", `{"token":"${token}","resource":"lone-\\ud800.example.com"}`],
  ["bidi override", JSON.stringify({ token, resource: "invoice\u202efdp.exe" })],
  ["control character", JSON.stringify({ token, resource: "line\nbreak.example.com" })],
  ["name of 600 characters", JSON.stringify({ token, resource: "x".repeat(600) })],
  ["multi-part message", [JSON.stringify({ token, resource: "part1.example.com" }), "second part"]],
  ["70 KiB frame", JSON.stringify({ token, resource: "big.example.com", payload: { blob: "y".repeat(70 * 1024) } })],
  ["not JSON", "{\"token\": "],
  ["JSON array", "[1,2,3]"],
  ["JSON null", "null"],
  ["token not text", JSON.stringify({ token: { $ne: null }, resource: "nosql.example.com" })],
  ["unknown token", JSON.stringify({ token: "guessed-token", resource: "guess.example.com" })],
  ["empty frame", ""]
]

const storedRows = (stateDir: string) => {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true })
  try {
    return db.prepare("SELECT resource, payload FROM resources").all() as Array<{ resource: string; payload: string | null }>
  } finally {
    db.close()
  }
}

describe("a valid heartbeat after any hostile frame is in state.db within the next flush (issue 13)", () => {
  let started: Awaited<ReturnType<typeof startWithApi>>
  let udpPort: number
  beforeAll(async () => {
    udpPort = await freeUdpPort()
    started = await startWithApi(token, `udp:\n  listen: "127.0.0.1:${udpPort}"\n  burst_per_source: 100`)
  })
  afterAll(async () => {
    await started.daemon.stop("SIGKILL")
  })
  const metrics = () => started.metrics()

  it("each hostile frame, then a good heartbeat: every good one is stored by the first flush after it was accepted", async () => {
    const push = pushTo(started.daemon.port)
    const good = hostileFrames.map((_, i) => `good${i}.example.com`)
    for (const [i, [, frame]] of hostileFrames.entries()) {
      await push.send(frame)
      await push.heartbeat(token, good[i]!, { payload: { after: i } })
    }
    // Every good heartbeat has been handled once every frame is counted; from then on, the next
    // flush to complete began after it (flushes of fewer than 1,000 changes are one transaction,
    // one at a time). Flushes run every 500 ms: stored within about half a second, under 2 s.
    const accepted = await waitForAsync("every frame read", async () => {
      const now = await metrics()
      return (now.get("heartbeat_mesh_heartbeats_received_total") ?? 0) >= hostileFrames.length + good.length ? now : undefined
    })
    const flushesThen = accepted.get("heartbeat_mesh_state_flushes_total") ?? 0
    const storedGood = () => new Set(storedRows(started.workspace.stateDir).map((row) => row.resource).filter((resource) => good.includes(resource)))
    await waitForAsync("the next flush, or every good row", async () => {
      if (storedGood().size === good.length) return true
      return ((await metrics()).get("heartbeat_mesh_state_flushes_total") ?? 0) >= flushesThen + 2 ? true : undefined
    })
    expect([...storedGood()].sort()).toEqual([...good].sort())
    push.close()

    const after = await metrics()
    expect(after.get("heartbeat_mesh_state_write_failures_total")).toBe(0)
    expect(after.get("heartbeat_mesh_state_rows_skipped_total")).toBe(0)
    expect(after.get("heartbeat_mesh_heartbeat_files_errors_total")).toBe(0)
    // Each hostile frame was counted as rejected or taken in a usable form; none was lost silently.
    const rejected = [...after].filter(([name]) => name.startsWith("heartbeat_mesh_heartbeats_rejected_total")).reduce((sum, [, n]) => sum + n, 0)
    expect(rejected + (after.get("heartbeat_mesh_heartbeats_accepted_total") ?? 0)).toBe(hostileFrames.length + good.length)
  })

  it("the same over UDP: every good datagram after a hostile one is stored by the next flush", async () => {
    // What fits in one datagram (not the 70 KiB frame; a multi-part message has no UDP form).
    const datagrams = hostileFrames.filter(([, frame]) => !Array.isArray(frame) && frame.length < 60_000)
    const good = datagrams.map((_, i) => `udp-good${i}.example.com`)
    const before = await metrics()
    const received = (samples: Map<string, number>) => samples.get('heartbeat_mesh_ingress_received_total{transport="udp"}') ?? 0
    const client = await udpClient(udpPort)
    for (const [i, [, frame]] of datagrams.entries()) {
      await client.send(frame as string | Buffer)
      await client.send(JSON.stringify({ token, resource: good[i], payload: { after: i } }))
    }
    const read = await waitForAsync("every datagram read", async () => {
      const now = await metrics()
      return received(now) >= received(before) + 2 * datagrams.length ? now : undefined
    })
    client.close()
    const flushesThen = read.get("heartbeat_mesh_state_flushes_total") ?? 0
    const storedGood = () => storedRows(started.workspace.stateDir).map((row) => row.resource).filter((resource) => good.includes(resource))
    await waitForAsync("the next flush, or every good row", async () => {
      if (storedGood().length === good.length) return true
      return ((await metrics()).get("heartbeat_mesh_state_flushes_total") ?? 0) >= flushesThen + 2 ? true : undefined
    })
    expect(storedGood().sort()).toEqual([...good].sort())
    expect((await metrics()).get("heartbeat_mesh_state_rows_skipped_total")).toBe(0)
  })

  it("the receiver still answers every route and says it is ready; nothing stored is unusable", async () => {
    expect((await httpRequest(`${started.api}/readyz`)).status).toBe(200)
    const list = await httpRequest(`${started.api}/api/resources`)
    expect(list.status).toBe(200)
    const resources = JSON.parse(list.body) as Array<{ resource: string; timeoutSeconds: number | null }>
    for (const { resource } of resources) {
      expect((await httpRequest(`${started.api}/api/resources/Client1/${encodeURIComponent(resource)}`)).status).toBe(200)
    }
    // No name with a control, bidi or broken character reached the store.
    for (const row of storedRows(started.workspace.stateDir)) {
      expect({ resource: row.resource, usable: row.resource.isWellFormed() && !/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069\ufffd]/.test(row.resource) })
        .toEqual({ resource: row.resource, usable: true })
    }
    // A timeout out of range was recorded with the client's timeout (10 min).
    expect(resources.filter((r) => r.resource.endsWith("-timeout.example.com")).map((r) => [r.resource, r.timeoutSeconds]).sort())
      .toEqual([["huge-timeout.example.com", 600], ["infinite-timeout.example.com", 600], ["text-timeout.example.com", 600]])
  })
})
