import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, makeWorkspace, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { httpRequest, parsePrometheus } from "./support/ingressClients.ts"

const token = "ping-token-0123456789"
const fixtures = join(import.meta.dirname, "fixtures/tls")
const ca = readFileSync(join(fixtures, "cert.pem"))

describe("HTTP ping ingress (real daemon, real HTTPS requests)", () => {
  let daemon: RunningDaemon
  let api: string
  let ingress: string
  let workspace: ReturnType<typeof makeWorkspace>

  beforeAll(async () => {
    const apiPort = await freePort()
    const ingressPort = await freePort()
    api = `https://127.0.0.1:${apiPort}`
    ingress = `https://127.0.0.1:${ingressPort}`
    workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
check_interval: 1
timeout_jitter: 1
receiver_name: rx-ping
http:
  listen: "127.0.0.1:${apiPort}"
  ingress_listen: "127.0.0.1:${ingressPort}"
  tls_cert: ${join(fixtures, "cert.pem")}
  tls_key: ${join(fixtures, "key.pem")}
clients:
  Cron:
    token: ${token}
    timeout: 10
    resources:
      backup.example.com: { severity: minor }
      slow.example.com: { max_runtime: 0.05 }
`)
    daemon = await startDaemon(workspace)
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  const bearer = { authorization: `Bearer ${token}` }
  const ping = (path: string, options: Parameters<typeof httpRequest>[1] = {}) => httpRequest(`${ingress}${path}`, { ca, ...options })
  const resource = async (name: string) => {
    const answer = await httpRequest(`${api}/api/resources/Cron/${name}`, { ca })
    return answer.status === 200 ? JSON.parse(answer.body) : undefined
  }
  const events = (name: string) => workspace.notifications().filter((n) => n.resource === name).map((n) => n.event.replace("heartbeat_mesh_heartbeat_", ""))

  it("a GET ping is a heartbeat; a POST body becomes payload.log; /start then success records the run's length", async () => {
    expect(await ping("/ping/backup.example.com", { headers: bearer })).toEqual({ status: 200, body: "OK\n" })
    expect((await resource("backup.example.com")).status).toBe("alive")
    expect(await ping("/ping/backup.example.com/start", { method: "POST", headers: bearer })).toMatchObject({ status: 200 })
    await new Promise((r) => setTimeout(r, 300))
    expect(await ping("/ping/backup.example.com", { method: "POST", headers: bearer, body: "backup done: 42 files" })).toMatchObject({ status: 200 })
    const { payload } = await resource("backup.example.com")
    expect(payload.log).toBe("backup done: 42 files")
    expect(payload.duration_seconds).toBeGreaterThanOrEqual(0.3)
    expect(payload.duration_seconds).toBeLessThan(30)
  })

  it("/fail raises heartbeat_mesh_heartbeat_fail at once with the resource's severity; the next success sends ok", async () => {
    expect(await ping("/ping/backup.example.com/fail", { method: "POST", headers: bearer, body: "disk full" })).toMatchObject({ status: 200 })
    const fail = await waitFor("the fail notification", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_fail" && n.resource === "backup.example.com"))
    expect(fail).toMatchObject({ severity: "minor", value: "fail", client: "Cron", correlate: ["heartbeat_mesh_heartbeat_ok"] })
    expect((await resource("backup.example.com")).payload).toEqual({ log: "disk full" })
    expect(await ping("/ping/backup.example.com/0", { headers: bearer })).toMatchObject({ status: 200 })
    await waitFor("the ok after the failure", () => (events("backup.example.com").at(-1) === "ok" ? true : undefined))
    expect(events("backup.example.com").filter((event) => event === "fail" || event === "ok")).toEqual(["fail", "ok"])
  })

  it("an exit code (token in the query, for tools without headers): non-zero is a failure with the code", async () => {
    expect(await ping(`/ping/nightly.example.com/3?token=${token}`)).toMatchObject({ status: 200 })
    const fail = await waitFor("the exit code failure", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_fail" && n.resource === "nightly.example.com"))
    expect(fail.value).toBe(3)
    expect((await resource("nightly.example.com")).payload).toEqual({ exit_code: 3 })
  })

  it("max_runtime: a started run that does not finish in time raises a timeout", async () => {
    expect(await ping("/ping/slow.example.com/start", { headers: bearer })).toMatchObject({ status: 200 })
    const timeout = await waitFor("the run's timeout", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_timeout" && n.resource === "slow.example.com"), 15_000)
    expect(timeout.text).toContain("max_runtime 3 s")
    expect(timeout.attributes?.timeout).toBe(3)
  })

  it("refuses a bad token, no token, a bad exit code, an oversized body; counts each by reason", async () => {
    expect(await ping("/ping/x.example.com", { headers: { authorization: "Bearer wrong-token" } })).toEqual({ status: 401, body: "unknown token\n" })
    expect((await ping("/ping/x.example.com")).status).toBe(401)
    expect((await ping("/ping/x.example.com/256", { headers: bearer })).status).toBe(400)
    expect((await ping("/ping/x.example.com/later", { headers: bearer })).status).toBe(400)
    expect((await ping("/ping/x.example.com", { method: "POST", headers: bearer, body: "y".repeat(11 * 1024) })).status).toBe(413)
    expect(await resource("x.example.com")).toBeUndefined()
    const samples = parsePrometheus((await httpRequest(`${api}/metrics`, { ca })).body)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="http",reason="unknown_token"}')).toBe(1)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="http",reason="invalid_field"}')).toBe(3)
    expect(samples.get('heartbeat_mesh_ingress_rejected_total{transport="http",reason="oversized"}')).toBe(1)
    expect(samples.get('heartbeat_mesh_ingress_accepted_total{transport="http"}')).toBe(7)
    expect(daemon.stderr()).not.toContain(token)
  })

  it("the ingress address serves pings only, the API address no pings", async () => {
    expect((await httpRequest(`${ingress}/api/resources`, { ca })).status).toBe(404)
    expect((await httpRequest(`${api}/ping/backup.example.com`, { ca, headers: bearer })).status).toBe(404)
  })
})
