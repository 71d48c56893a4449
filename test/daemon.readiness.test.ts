import { afterEach, describe, expect, it } from "vitest"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1])

describe("honest readiness on a real daemon (issue 13.4)", () => {
  it("/readyz answers 503 with the reason while state has not been saved for more than 10 s, and 200 again once it is", async () => {
    const httpPort = await freePort()
    const workspace = makeWorkspace(`
enabled: true
notifier: stdout
clients:
  Client1:
    token: ready-token
    timeout: 5
http:
  listen: "127.0.0.1:${httpPort}"
`)
    daemon = await startDaemon(workspace)
    const base = `http://127.0.0.1:${httpPort}`
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ready: true, endpoint: `tcp://127.0.0.1:${daemon.port}`, resources: 0 })

    // Another process holds the database's write lock: every flush fails with "database is locked".
    const blocker = new DatabaseSync(join(workspace.stateDir, "state.db"))
    blocker.exec("BEGIN IMMEDIATE")
    const push = pushTo(daemon.port)
    let sent = 0
    const keepSending = setInterval(() => void push.heartbeat("ready-token", `host${sent++ % 5}.example.com`), 200)
    try {
      const notReady = await waitForAsync<{ ready: boolean; problems: Array<string> }>("a 503", async () => {
        const response = await fetch(`${base}/readyz`)
        return response.status === 503 ? (await response.json()) as { ready: boolean; problems: Array<string> } : undefined
      }, 30_000)
      expect(notReady.ready).toBe(false)
      expect(notReady.problems).toHaveLength(1)
      expect(notReady.problems[0]).toMatch(
        new RegExp(`^state could not be saved for (1\\d|[2-9]\\d) s: cannot write ${join(workspace.stateDir, "state.db").replaceAll("/", "\\/")}: database is locked$`)
      )
      const metrics = await (await fetch(`${base}/metrics`)).text()
      expect(metric(metrics, "heartbeat_mesh_state_write_failures_total")).toBeGreaterThanOrEqual(10)
    } finally {
      blocker.exec("ROLLBACK")
      blocker.close()
    }
    await waitForAsync("ready again", async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined))
    clearInterval(keepSending)
    push.close()
    // What waited in memory while the disk refused is saved now.
    const db = new DatabaseSync(join(workspace.stateDir, "state.db"), { readOnly: true })
    const rows = db.prepare("SELECT COUNT(*) AS n FROM resources").get() as { n: number }
    db.close()
    expect(rows.n).toBe(5)
  })
})
