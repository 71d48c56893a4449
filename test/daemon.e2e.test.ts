import { afterEach, describe, expect, it } from "vitest"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Notification } from "../src/domain/Notification.ts"
import { makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"

// Short timings through the config keys: timeout 0.05 min = 3 s, jitter 1 s => stale 4 s after the
// last heartbeat; activity window 2 s; grace 2 s.
const config = `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 2
rare_check_interval: 3600
receiver_name: rx-e2e
clients:
  Client1:
    token: e2e-token-one
    timeout: 0.05
    resources:
      web1.example.com:
        environment: prod
`

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

const find = (all: ReadonlyArray<Notification>, event: string, resource: string) =>
  all.find((n) => n.event === `heartbeat_mesh_${event}` && n.resource === resource)

describe("receiver daemon end to end (real process, real ZeroMQ, notify_devilry stand-in)", () => {
  it("new, timeout, comeback, deregistered and activity_ok arrive, and the files are on disk", async () => {
    const workspace = makeWorkspace(config)
    daemon = await startDaemon(workspace)
    const push = pushTo(daemon.port)
    // keeper.example.com keeps the receiver active so that timeouts are not held back.
    const keeper = setInterval(() => void push.heartbeat("e2e-token-one", "keeper.example.com"), 300)
    try {
      const activity = await waitFor("activity_ok", () => find(workspace.notifications(), "receiver_activity_ok", "rx-e2e"))
      expect(activity).toMatchObject({ severity: "ok", value: "ok", group: "rx-e2e", origin: "heartbeat_mesh/receiver.py" })
      expect(activity).not.toHaveProperty("attributes")

      await push.heartbeat("e2e-token-one", "web1.example.com", { payload: { uptime: 4242 } })
      const fresh = await waitFor("new", () => find(workspace.notifications(), "heartbeat_new", "web1.example.com"))
      expect(fresh).toMatchObject({ client: "Client1", environment: "prod", value: "registered", severity: "informational" })

      const timeout = await waitFor("timeout", () => find(workspace.notifications(), "heartbeat_timeout", "web1.example.com"))
      expect(timeout).toMatchObject({ severity: "critical", client: "Client1", attributes: { receiver: "rx-e2e", timeout: 3 } })
      expect(timeout.value).toBeGreaterThanOrEqual(4)

      await push.heartbeat("e2e-token-one", "web1.example.com")
      await waitFor("comeback", () => find(workspace.notifications(), "heartbeat_comeback", "web1.example.com"))
      const okAfterComeback = await waitFor("ok", () => find(workspace.notifications(), "heartbeat_ok", "web1.example.com"))
      expect(okAfterComeback.value).toBe(0)

      // Files: current holds the last heartbeat without the token; history one line per heartbeat.
      const current = join(workspace.stateDir, "heartbeats/current/client1/web1_example_com.json")
      const history = join(workspace.stateDir, "heartbeats/history/client1/web1_example_com.json")
      await waitFor("history of both heartbeats", () =>
        existsSync(history) && readFileSync(history, "utf8").trim().split("\n").length === 2 ? true : undefined)
      const lines = readFileSync(history, "utf8").trim().split("\n").map((line) => JSON.parse(line))
      expect(lines[0]).toEqual({ utc: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), resource: "web1.example.com", payload: { uptime: 4242 }, timeout: null })
      expect(Object.keys(JSON.parse(readFileSync(current, "utf8")))).toEqual(["utc", "resource", "payload", "timeout"])
      expect(readFileSync(history, "utf8")).not.toContain("e2e-token-one")

      await push.heartbeat("e2e-token-one", "web1.example.com", { deregister: true })
      const gone = await waitFor("deregistered", () => find(workspace.notifications(), "heartbeat_deregistered", "web1.example.com"))
      expect(gone).toMatchObject({ severity: "informational", value: "deregistered", client: "Client1" })
      await waitFor("files removed", () => (!existsSync(current) && !existsSync(history) ? true : undefined))
    } finally {
      clearInterval(keeper)
      push.close()
    }
    const status = await daemon.stop("SIGTERM")
    expect(daemon.stderr()).toContain("receiver stopping")
    expect(status).toBe(0)
    expect(daemon.stderr()).not.toContain("e2e-token-one")
  })

  it("SIGHUP rereads the configuration: a new client's heartbeats are accepted", async () => {
    const noGrace = config.replace("grace_period: 2", "grace_period: 0")
    const workspace = makeWorkspace(noGrace)
    daemon = await startDaemon(workspace)
    const push = pushTo(daemon.port)
    try {
      workspace.writeConfig(`${noGrace}  Client2:\n    token: e2e-token-two\n    timeout: 1\n`)
      daemon.process.kill("SIGHUP")
      await waitFor("the reload", () => (daemon!.stderr().includes("receiver configuration applied") ? true : undefined))
      await push.heartbeat("e2e-token-two", "late.example.com")
      const fresh = await waitFor("new from the new client", () =>
        find(workspace.notifications(), "heartbeat_new", "late.example.com"))
      expect(fresh.client).toBe("Client2")
      expect(daemon.process.exitCode).toBeNull()
    } finally {
      push.close()
    }
  })

  it("refuses to start on a bad configuration, with the problems", async () => {
    const workspace = makeWorkspace("enabled: false\nclients:\n  A: {token: t, timeout: -1}\n")
    await expect(startDaemon(workspace)).rejects.toThrow(
      /2 problems, the receiver will not start:\n  - enabled: the receiver is disabled: set `enabled: true` to run it, got false\n  - clients\.A\.timeout: expected a number of minutes from 1\/60 \(one second\) to 525600 \(one year\), got -1/
    )
  })
})
