import { afterEach, describe, expect, it } from "vitest"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { pushTo, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"
import { httpRequest } from "./support/ingressClients.ts"
import { startWithApi } from "./support/apiDaemon.ts"

const token = "crash-token-0123456789"
const fleet = Array.from({ length: 50 }, (_, i) => `host${i}.example.com`)

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

/** Per resource, the highest `seq` of a payload stored in state.db. */
const storedSeqs = (stateDir: string) => {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true })
  try {
    const rows = db.prepare("SELECT resource, payload FROM resources").all() as Array<{ resource: string; payload: string }>
    return new Map(rows.map((row) => [row.resource, (JSON.parse(row.payload) as { seq: number }).seq]))
  } finally {
    db.close()
  }
}

describe("SIGKILL mid-traffic (issue 13: at most the last second is lost)", () => {
  it("everything the receiver knew before its last completed flush is on disk after kill -9, and restored", async () => {
    const started = await startWithApi(token)
    const { api, workspace } = started
    daemon = started.daemon
    const metric = async (name: string) => (await started.metrics()).get(name) ?? 0

    // Traffic that does not stop: the fleet round robin, every heartbeat one higher `seq`, and a
    // new host every 100 heartbeats (a stream of new resources, as a fleet being rolled out).
    const push = pushTo(daemon.port)
    let seq = 0
    let sending = true
    const traffic = (async () => {
      while (sending) {
        seq++
        const resource = seq % 100 === 0 ? `new${seq}.example.com` : fleet[seq % fleet.length]!
        await push.heartbeat(token, resource, { payload: { seq } })
        if (seq % 20 === 0) await new Promise((r) => setTimeout(r, 1))
      }
    })()

    // What the receiver knows at one moment, mid-traffic: every resource and its newest seq.
    await waitForAsync("traffic to be flowing", async () => ((await metric("heartbeat_mesh_state_flushes_total")) >= 2 ? true : undefined))
    const known = new Map<string, number>()
    const list = JSON.parse((await httpRequest(`${api}/api/resources`)).body) as Array<{ resource: string }>
    for (const { resource } of list) {
      const detail = JSON.parse((await httpRequest(`${api}/api/resources/Client1/${resource}`)).body) as { payload: { seq: number } }
      known.set(resource, detail.payload.seq)
    }
    expect(known.size).toBeGreaterThan(fleet.length)
    // Two more transactions: the second began after the read above (a flush of fewer than 1,000
    // changes is one transaction, and flushes run one at a time), so it held everything read.
    const flushes = await metric("heartbeat_mesh_state_flushes_total")
    await waitForAsync("two more flushes", async () => ((await metric("heartbeat_mesh_state_flushes_total")) >= flushes + 2 ? true : undefined))
    // Kill between two flushes (they run every 500 ms), with the traffic still flowing.
    await new Promise((r) => setTimeout(r, 250))
    await daemon.stop("SIGKILL")
    sending = false
    await traffic
    push.close()

    // Nothing the receiver knew then is missing or older on disk.
    const stored = storedSeqs(workspace.stateDir)
    const behind = [...known].filter(([resource, knownSeq]) => (stored.get(resource) ?? -1) < knownSeq)
    expect(behind).toEqual([])

    // And the next start restores exactly what is on disk.
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    expect(daemon.stderr()).toMatch(new RegExp(`msg="state restored" .*resources=${stored.size}\\b`))
    const restored = JSON.parse((await waitForAsync("the API after restart", async () => {
      const answer = await httpRequest(`${api}/api/resources`).catch(() => undefined)
      return answer?.status === 200 ? answer : undefined
    })).body) as Array<{ resource: string }>
    expect(restored.map((r) => r.resource).sort()).toEqual([...stored.keys()].sort())
  })
})
