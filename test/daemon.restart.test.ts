import { afterEach, describe, expect, it } from "vitest"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"

// Client timeout 1 min, so the 1,000 resources stay alive for the whole test; the one that is to
// die asks for 0.02 min (1.2 s, just over the 1 s minimum) in its heartbeat: stale 2.2 s after its last one.
const config = `
enabled: true
notify_devilry_sleep: 0
queue_threshold: 100000
check_interval: 1
timeout_jitter: 1
grace_period: 2
rare_check_interval: 3600
clients:
  Client1:
    token: restart-token
    timeout: 1
    resources:
      never.example.com: {}
`
const token = "restart-token"
const fleet = Array.from({ length: 1000 }, (_, i) => `host${i}.example.com`)

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

const storedRows = (stateDir: string) => {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true })
  try {
    return db.prepare("SELECT resource, last_seen_ms FROM resources").all() as Array<{ resource: string; last_seen_ms: number }>
  } finally {
    db.close()
  }
}

const sendFleet = async (
  port: number,
  extra: (resource: string) => Record<string, unknown> = () => ({}),
  except: string | undefined = undefined
) => {
  const push = pushTo(port)
  for (const resource of fleet) if (resource !== except) await push.heartbeat(token, resource, extra(resource))
  return push
}

describe("receiver restarts with durable state (real process, SQLite)", () => {
  it("1,000 resources survive a clean restart and a SIGKILL; stale, not_registered and deregistration hold", async () => {
    const workspace = makeWorkspace(config)
    const args = ["--notifier", "stdout"]

    // First run: the fleet, one resource deregistered, one that will die during the downtime.
    daemon = await startDaemon(workspace, args)
    let push = await sendFleet(daemon.port, (r) => (r === "host999.example.com" ? { timeout: 0.02 } : {}))
    await push.heartbeat(token, "gone.example.com")
    await push.heartbeat(token, "gone.example.com", { deregister: true })
    push.close()
    await waitFor("the fleet on disk", () => (storedRows(workspace.stateDir).length === 1000 ? true : undefined))
    expect(await daemon.stop("SIGTERM")).toBe(0)
    expect(storedRows(workspace.stateDir).map((r) => r.resource)).not.toContain("gone.example.com")

    // Second run after a clean stop: everything is known again; host999 stays silent.
    daemon = await startDaemon(workspace, args)
    expect(daemon.stderr()).toMatch(/msg="state restored" .*resources=1000/)
    push = await sendFleet(daemon.port, undefined, "host999.example.com")
    const second = daemon
    const timeout = await waitFor("host999 reported stale after restart + grace", () =>
      second.stdoutNotifications().find((n) => n.event === "heartbeat_mesh_heartbeat_timeout"))
    expect(timeout.resource).toBe("host999.example.com")
    const notRegistered = await waitFor("not_registered for the configured resource", () =>
      second.stdoutNotifications().find((n) => n.event === "heartbeat_mesh_heartbeat_not_registered"))
    expect(notRegistered.resource).toBe("never.example.com")
    const events = second.stdoutNotifications()
    // Known resources are not new; the deregistered one stays gone.
    expect(events.filter((n) => n.event === "heartbeat_mesh_heartbeat_new")).toEqual([])
    expect(events.filter((n) => n.resource === "gone.example.com")).toEqual([])
    push.close()

    // SIGKILL: no shutdown flush at all. What was written in the last flush survives.
    const before = Date.now()
    push = await sendFleet(daemon.port)
    push.close()
    await waitFor("the newest heartbeats on disk", () =>
      storedRows(workspace.stateDir).filter((r) => r.last_seen_ms >= before).length === 1000 ? true : undefined)
    await daemon.stop("SIGKILL")
    daemon = await startDaemon(workspace, args)
    expect(daemon.stderr()).toMatch(/msg="state restored" .*resources=1000/)
  })
})
