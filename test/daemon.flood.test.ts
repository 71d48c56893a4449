import { afterEach, describe, expect, it } from "vitest"
import { httpRecorder, type RecordedRequest } from "./support/httpRecorder.ts"
import { freePort, makeWorkspace, pushTo, startDaemon, waitFor } from "./support/daemonProcess.ts"

const running: Array<{ stop: () => Promise<unknown> }> = []
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop()
})

const gauge = (metrics: string, name: string) => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes('channel="hook"'))
  return line === undefined ? undefined : Number(line.split(" ").at(-1))
}

describe("a junk flood from one client's token", () => {
  it("a real timeout still reaches its channel within 2 s, and the channel queue stays under its cap", async () => {
    const arrivals: Array<{ atMs: number; request: RecordedRequest }> = []
    // A channel that takes 20 ms per notification: a flood outruns it, so the queue bounds matter.
    const hook = await httpRecorder((request, response) => {
      arrivals.push({ atMs: Date.now(), request })
      setTimeout(() => {
        response.writeHead(200)
        response.end()
      }, 20)
    })
    running.push({ stop: hook.close })
    const httpPort = await freePort()
    const workspace = makeWorkspace(`
enabled: true
grace_period: 0
check_interval: 1
timeout_jitter: 0
receiver_name: rx-flood
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Victim:
    token: vvvvvvvv
    timeout: 0.05
  Junk:
    token: jjjjjjjj
    timeout: 60
channels:
  hook: { type: webhook, url: "${hook.url}/", max_entries: 50, max_bytes: 65536 }
`)
    const daemon = await startDaemon(workspace, ["--no-heartbeat-files"])
    running.push(daemon)
    const victim = pushTo(daemon.port)
    const junk = pushTo(daemon.port)

    await victim.heartbeat("vvvvvvvv", "real.example.com")
    const deadlineMs = Date.now() + 3000 // timeout 0.05 min, no jitter
    let maxEntries = 0
    let maxBytes = 0
    let sent = 0
    const floodUntil = deadlineMs + 3000
    while (Date.now() < floodUntil) {
      for (let i = 0; i < 500; i++, sent++) {
        // Per cycle of five frames: a junk resource appears (new), is deregistered (deregistered),
        // appears again with a fat payload (new); a name never seen is deregistered; one frame is garbage.
        const n = sent % 5
        const name = `junk-${Math.floor(sent / 5) % 40}.example.com`
        if (n === 0) await junk.heartbeat("jjjjjjjj", name)
        else if (n === 1) await junk.heartbeat("jjjjjjjj", name, { deregister: true })
        else if (n === 2) await junk.heartbeat("jjjjjjjj", `never-known-${sent}.example.com`, { deregister: true })
        else if (n === 3) await junk.send("{not json")
        else await junk.heartbeat("jjjjjjjj", name, { payload: { filler: "x".repeat(2000) } })
      }
      const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text())
      maxEntries = Math.max(maxEntries, gauge(metrics, "heartbeat_mesh_channel_queue_entries") ?? 0)
      maxBytes = Math.max(maxBytes, gauge(metrics, "heartbeat_mesh_channel_queue_bytes") ?? 0)
    }
    const timeout = await waitFor("the timeout of real.example.com", () =>
      arrivals.find(({ request }) => {
        const body = JSON.parse(request.body) as { event: string; resource: string }
        return body.event === "heartbeat_mesh_heartbeat_timeout" && body.resource === "real.example.com"
      }))
    const final = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text())
    const counter = (name: string) => Number(final.split("\n").find((l) => l.startsWith(`${name}{channel="hook"`))?.split(" ").at(-1))
    expect(sent).toBeGreaterThan(5000)
    expect(arrivals.length).toBeGreaterThan(1) // the junk did reach the channel too (new / deregistered)
    // The flood outran the channel: a storm, in which thousands of junk states were coalesced.
    expect(counter("heartbeat_mesh_channel_storms_total")).toBeGreaterThanOrEqual(1)
    expect(counter("heartbeat_mesh_channel_changes_coalesced_total")).toBeGreaterThan(1000)
    expect(timeout.atMs - deadlineMs).toBeLessThan(2000)
    expect(maxEntries).toBeGreaterThan(0)
    // The cap: at most 50 entries past which a storm coalesces them (plus the storm notice), 64 KiB.
    expect(maxEntries).toBeLessThanOrEqual(51)
    expect(maxBytes).toBeLessThanOrEqual(65536)
    victim.close()
    junk.close()
  })
})
