import { afterEach, describe, expect, it } from "vitest"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor, waitForAsync } from "./support/daemonProcess.ts"

// Timeout 0.02 min = 1.2 s + jitter 1 s: stale 2.2 s after the last heartbeat.
const configWith = (httpPort: number) => `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 0
rare_check_interval: 3600
clients:
  Client1:
    token: history-token
    timeout: 0.02
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: history-admin
`
const token = "history-token"
const staleAfterMs = 2200

// Test code reads the API's JSON loosely.
type Json = any

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

const storedKinds = (stateDir: string, resource: string): Array<string> => {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true })
  try {
    return (db.prepare("SELECT kind FROM history WHERE resource = ? ORDER BY id").all(resource) as Array<{ kind: string }>).map((row) => row.kind)
  } finally {
    db.close()
  }
}

describe("history survives restarts of a real daemon (SQLite)", () => {
  it("status changes, their times, uptime and the notifications sent are found after a restart", async () => {
    const httpPort = await freePort()
    const base = `http://127.0.0.1:${httpPort}`
    const get = async (path: string): Promise<Json> => {
      const response = await fetch(base + path)
      expect(response.status).toBe(200)
      return response.json()
    }
    const act = (path: string) => fetch(base + path, { method: "POST", headers: { authorization: "Bearer history-admin" } })
    const statusOf = async (resource: string) => (await (await fetch(`${base}/api/resources/Client1/${resource}`)).json() as Json).status
    const workspace = makeWorkspace(configWith(httpPort))
    // web1 registers with the client's timeout (stale 2.2 s later), comes back with one of an hour.
    const args = ["--notifier", "stdout"]

    // First run: web1 registers, goes stale, comes back; dies.example.com goes stale and stays so.
    daemon = await startDaemon(workspace, args)
    let push = pushTo(daemon.port)
    await push.heartbeat(token, "web1.example.com")
    await push.heartbeat(token, "dies.example.com")
    await waitForAsync("web1 stale", async () => (await statusOf("web1.example.com")) === "stale" ? true : undefined)
    await waitForAsync("dies stale", async () => (await statusOf("dies.example.com")) === "stale" ? true : undefined)
    // Back with a timeout of an hour: it stays alive from now on.
    await push.heartbeat(token, "web1.example.com", { timeout: 60 })
    await waitForAsync("web1 alive again", async () => (await statusOf("web1.example.com")) === "alive" ? true : undefined)
    push.close()
    // A clean stop right after the change: the shutdown writes what is pending.
    expect(await daemon.stop("SIGTERM")).toBe(0)
    expect(storedKinds(workspace.stateDir, "web1.example.com")).toEqual(["registered", "stale", "alive"])

    // Second run: found again; the stale spell of dies.example.com, seen again at start, is not recorded twice.
    daemon = await startDaemon(workspace, args)
    const first: Json = await get("/api/resources/Client1/web1.example.com/history")
    expect(first.next).toBeNull()
    expect(first.items.map((item: Json) => `${item.kind}:${item.status}`)).toEqual(["alive:alive", "stale:stale", "registered:alive"])
    const [alive, stale, registered] = first.items
    expect(Date.parse(stale.at) - Date.parse(registered.at)).toBe(staleAfterMs)
    expect(alive.seq).toBeGreaterThan(stale.seq)
    expect(stale.seq).toBeGreaterThan(registered.seq)
    const dies: Json = await get("/api/resources/Client1/dies.example.com/history")
    expect(dies.items.map((item: Json) => item.kind)).toEqual(["stale", "registered"])
    expect(Date.parse(dies.items[0].at) - Date.parse(dies.items[1].at)).toBe(staleAfterMs)

    // Paused and resumed, then killed (no shutdown at all) once written: still there.
    push = pushTo(daemon.port)
    await push.heartbeat(token, "web1.example.com", { timeout: 60 })
    expect((await act("/api/resources/Client1/web1.example.com/pause")).status).toBe(200)
    expect((await act("/api/resources/Client1/web1.example.com/resume")).status).toBe(200)
    push.close()
    await waitFor("pause and resume written", () =>
      storedKinds(workspace.stateDir, "web1.example.com").includes("resumed") ? true : undefined)
    await daemon.stop("SIGKILL")
    daemon = await startDaemon(workspace, args)

    const all: Json = await get("/api/resources/Client1/web1.example.com/history")
    expect(all.items.map((item: Json) => `${item.kind}:${item.status}`)).toEqual([
      "resumed:alive",
      "paused:paused",
      "alive:alive",
      "stale:stale",
      "registered:alive"
    ])
    const [resumed, paused] = all.items
    // Paging: two at a time, newest first, the same entries.
    const page1: Json = await get("/api/resources/Client1/web1.example.com/history?limit=2")
    expect(page1.items.map((item: Json) => item.seq)).toEqual([resumed.seq, paused.seq])
    expect(page1.next).toBe(paused.seq)
    const page2: Json = await get(`/api/resources/Client1/web1.example.com/history?limit=2&before=${page1.next}`)
    expect(page2.items.map((item: Json) => item.seq)).toEqual([alive.seq, stale.seq])
    // since / until select by time.
    const spell: Json = await get(`/api/resources/Client1/web1.example.com/history?since=${stale.at}&until=${alive.at}`)
    expect(spell.items.map((item: Json) => item.kind)).toEqual(["stale"])
    expect((await fetch(`${base}/api/resources/Client1/web1.example.com/history?since=yesterday`)).status).toBe(400)

    // Uptime from the recorded changes: down = the stale spell, paused left out, before registration unmonitored.
    const uptime: Json = await get("/api/resources/Client1/web1.example.com/uptime")
    expect(uptime.windows.map((window: Json) => window.window)).toEqual(["24h", "7d", "30d"])
    const day = uptime.windows[0]
    const spellMs = Date.parse(alive.at) - Date.parse(stale.at)
    const pausedMs = Date.parse(resumed.at) - Date.parse(paused.at)
    const toMs = Date.parse(day.to)
    expect(Date.parse(day.to) - Date.parse(day.from)).toBe(24 * 3600_000)
    expect(day.downSeconds).toBe(spellMs / 1000)
    expect(day.pausedSeconds).toBe(pausedMs / 1000)
    expect(day.unmonitoredSeconds).toBe((Date.parse(registered.at) - Date.parse(day.from)) / 1000)
    expect(day.upSeconds).toBe((toMs - Date.parse(registered.at) - spellMs - pausedMs) / 1000)
    expect(day.percent).toBeCloseTo((day.upSeconds / (day.upSeconds + day.downSeconds)) * 100, 10)

    // The notifications sent, stored, with filters.
    const comebacks: Json = await get("/api/events?event=heartbeat_mesh_heartbeat_comeback&client=Client1")
    expect(comebacks.items.map((item: Json) => item.resource)).toEqual(["web1.example.com"])
    const timeouts: Json = await get(`/api/events?event=heartbeat_mesh_heartbeat_timeout&since=${registered.at}`)
    // Only once the receiver hears someone again (storm suppression): dies.example.com, after the second start.
    expect(timeouts.items.length).toBeGreaterThan(0)
    expect(timeouts.items.every((item: Json) =>
      item.event === "heartbeat_mesh_heartbeat_timeout" && item.resource === "dies.example.com" && item.severity === "critical"
    )).toBe(true)
    const none: Json = await get("/api/events?client=Client1&severity=minor")
    expect(none.items).toEqual([])
  })

  it("a client removed by a reload and added back while the receiver was down: registered again at the next start", async () => {
    const httpPort = await freePort()
    const base = `http://127.0.0.1:${httpPort}`
    const withClient2 = `${configWith(httpPort)}
removed_client_retention: 3600
`.replace("clients:\n", "clients:\n  Client2:\n    token: other-token\n    timeout: 60\n")
    const withoutClient2 = configWith(httpPort) + "removed_client_retention: 3600\n"
    const statusOf = async (): Promise<string> => (await (await fetch(`${base}/api/resources/Client2/back.example.com`)).json() as Json).status
    const workspace = makeWorkspace(withClient2)
    const args = ["--notifier", "stdout"]
    daemon = await startDaemon(workspace, args)
    const push = pushTo(daemon.port)
    await push.heartbeat("other-token", "back.example.com")
    push.close()
    await waitForAsync("registered", async () => (await statusOf()) === "alive" ? true : undefined)
    workspace.writeConfig(withoutClient2)
    daemon.process.kill("SIGHUP")
    await waitForAsync("its client removed", async () => (await statusOf()) === "client_removed" ? true : undefined)
    await waitFor("the removal written", () => storedKinds(workspace.stateDir, "back.example.com").includes("removed") ? true : undefined)
    expect(await daemon.stop("SIGTERM")).toBe(0)

    // Added back while the receiver was down.
    workspace.writeConfig(withClient2)
    daemon = await startDaemon(workspace, args)
    expect(await statusOf()).toBe("alive")
    const history: Json = await (await fetch(`${base}/api/resources/Client2/back.example.com/history`)).json()
    expect(history.items.map((item: Json) => `${item.kind}:${item.status}`)).toEqual(["registered:alive", "removed:client_removed", "registered:alive"])
    // The store learns it is back: a second restart records nothing more.
    await waitFor("the return written", () => storedKinds(workspace.stateDir, "back.example.com").length === 3 ? true : undefined)
    expect(await daemon.stop("SIGTERM")).toBe(0)
    daemon = await startDaemon(workspace, args)
    expect(storedKinds(workspace.stateDir, "back.example.com")).toEqual(["registered", "removed", "registered"])
  })
})

