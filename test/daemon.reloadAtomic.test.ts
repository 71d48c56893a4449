import { afterEach, describe, expect, it } from "vitest"
import { appendFileSync } from "node:fs"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor, waitForAsync } from "./support/daemonProcess.ts"

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const header = (httpPort: number, checkInterval = 1) => `enabled: true
notifier: stdout
check_interval: ${checkInterval}
timeout_jitter: 1
grace_period: 0
http:
  listen: "127.0.0.1:${httpPort}"
clients:
  Alpha:
    token: alpha-token
    timeout: 1
`
const beta = `  Beta:
    token: beta-token
    timeout: 1
`

const reloadsApplied = (stderr: string) => stderr.split("\n").filter((line) => line.includes("receiver configuration applied"))

describe("atomic, safe reload on a real daemon (issue 13.3)", () => {
  it("a file written in two chunks 400 ms apart is applied once, whole; a removed client's resources stay, as client_removed, across a restart", async () => {
    const httpPort = await freePort()
    const workspace = makeWorkspace(header(httpPort) + beta)
    const base = `http://127.0.0.1:${httpPort}`
    const resource = async (client: string, name: string) =>
      (await (await fetch(`${base}/api/resources/${client}/${name}`)).json()) as { status: string; firstSeen: string | null }
    daemon = await startDaemon(workspace)
    const push = pushTo(daemon.port)
    await push.heartbeat("alpha-token", "a1.example.com")
    await push.heartbeat("beta-token", "b1.example.com")
    const running = daemon
    await waitForAsync("b1 known", async () => ((await fetch(`${base}/api/resources/Beta/b1.example.com`)).ok ? true : undefined))
    const firstSeen = (await resource("Beta", "b1.example.com")).firstSeen

    // The new file (check_interval changed) arrives in two chunks; the first alone is a valid file
    // without Beta. Applied half-way, Beta would be removed and re-added.
    workspace.writeConfig(header(httpPort, 2))
    await sleep(400)
    appendFileSync(workspace.configPath, beta)
    await waitFor("the reload", () => (reloadsApplied(running.stderr()).length > 0 ? true : undefined))
    await sleep(1500)
    const applied = reloadsApplied(running.stderr())
    expect(applied).toHaveLength(1)
    expect(applied[0]).toContain("clients=2 added=none removed=none")
    expect(applied[0]).toContain(`msg="receiver configuration applied; these changes take effect only after a restart"`)
    expect(applied[0]).toContain(`needsRestart="check_interval: 1 -> 2"`)
    expect((await resource("Beta", "b1.example.com")).status).toBe("alive")

    // Beta removed for real: its resource stays, without alerts, as client_removed...
    workspace.writeConfig(header(httpPort, 2))
    await waitFor("the second reload", () => (reloadsApplied(running.stderr()).length === 2 ? true : undefined))
    expect(reloadsApplied(running.stderr())[1]).toContain("clients=1 added=none removed=Beta")
    expect((await resource("Beta", "b1.example.com")).status).toBe("client_removed")
    const list = (await (await fetch(`${base}/api/resources?status=client_removed`)).json()) as Array<{ resource: string }>
    expect(list.map((r) => r.resource)).toEqual(["b1.example.com"])
    push.close()

    // ...across a restart (the store knows since when), and re-adding Beta restores it.
    expect(await daemon.stop("SIGTERM")).toBe(0)
    daemon = await startDaemon(workspace)
    expect((await resource("Beta", "b1.example.com")).status).toBe("client_removed")
    workspace.writeConfig(header(httpPort, 2) + beta)
    const restarted = daemon
    await waitFor("the reload after restart", () => (reloadsApplied(restarted.stderr()).length === 1 ? true : undefined))
    const restored = await resource("Beta", "b1.example.com")
    expect(restored.status).not.toBe("client_removed")
    expect(restored.firstSeen).toBe(firstSeen)
    expect(daemon.stdoutNotifications().filter((n) => n.resource === "b1.example.com" && n.event === "heartbeat_mesh_heartbeat_new")).toEqual([])
  })
})
