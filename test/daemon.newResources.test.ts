import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"
import { httpRequest, parsePrometheus } from "./support/ingressClients.ts"

const token = "burst-token-0123456789"

describe("a burst of new hosts from one client is limited and counted (issue 13, real daemon)", () => {
  let daemon: RunningDaemon
  let api: string

  beforeAll(async () => {
    const apiPort = await freePort()
    api = `http://127.0.0.1:${apiPort}`
    daemon = await startDaemon(makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
new_resources_per_minute: 2
http:
  listen: "127.0.0.1:${apiPort}"
clients:
  Fleet:
    token: ${token}
    timeout: 10
    resources:
      configured.example.com: {}
`))
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  const metrics = async () => parsePrometheus((await httpRequest(`${api}/metrics`)).body)
  const resources = async () => (JSON.parse((await httpRequest(`${api}/api/resources`)).body) as Array<{ resource: string }>).map((r) => r.resource).sort()

  it("the first new names pass, the rest are refused; known and configured names always pass", async () => {
    const push = pushTo(daemon.port)
    const names = Array.from({ length: 12 }, (_, i) => `host${String(i).padStart(2, "0")}.example.com`)
    for (const name of names) await push.heartbeat(token, name)
    // Known names (the first two, and the configured one) are never limited. (The bucket refills
    // one name every 30 s, far longer than this test.)
    for (const name of [...names.slice(0, 2), "configured.example.com"]) await push.heartbeat(token, name)
    const counted = await waitForAsync("every heartbeat handled", async () => {
      const now = await metrics()
      return (now.get("heartbeat_mesh_heartbeats_received_total") ?? 0) >= 15 ? now : undefined
    })
    push.close()
    expect(counted.get('heartbeat_mesh_heartbeats_rejected_total{reason="new_resource_limit"}')).toBe(10)
    expect(counted.get('heartbeat_mesh_new_resources_refused_total{limit="rate"}')).toBe(10)
    expect(counted.get('heartbeat_mesh_new_resources_refused_total{limit="cap"}')).toBe(0)
    expect(counted.get("heartbeat_mesh_heartbeats_accepted_total")).toBe(5)
    expect(await resources()).toEqual(["configured.example.com", ...names.slice(0, 2)])
    expect(daemon.stderr()).toMatch(/msg="heartbeat rejected" reason=new_resource_limit resource=host02\.example\.com/)
  })

  it("an HTTP ping naming a new resource past the limit gets 429", async () => {
    const answer = await httpRequest(`${api}/ping/cron.example.com`, { headers: { authorization: `Bearer ${token}` } })
    expect(answer).toEqual({ status: 429, body: "this client may not add more resources now\n" })
    const known = await httpRequest(`${api}/ping/host00.example.com`, { headers: { authorization: `Bearer ${token}` } })
    expect(known).toEqual({ status: 200, body: "OK\n" })
  })
})
