import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { feedReader } from "./support/httpReads.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { parsePrometheus } from "./support/ingressClients.ts"

// Short timings: timeout 0.05 min = 3 s + jitter 1 s: stale 4 s after the last heartbeat.
const configWith = (httpPort: number, extraHttp = "") => `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 0
rare_check_interval: 3600
receiver_name: rx-http
clients:
  Client1:
    token: http-token-one
    timeout: 0.05
    resources:
      configured.example.com: {}
  Client2:
    token: http-token-two
    timeout: 60
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: admin-secret
${extraHttp}`

// Test code reads the API's JSON loosely.
const json = (response: Promise<Response>): Promise<any> => response.then((r) => r.json())

describe("status API over real HTTP (daemon process)", () => {
  let daemon: RunningDaemon
  let base: string
  let workspace: ReturnType<typeof makeWorkspace>
  let push: ReturnType<typeof pushTo>
  const get = (path: string, token?: string) =>
    fetch(base + path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
  const post = (path: string, token?: string) =>
    fetch(base + path, { method: "POST", ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) })

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    workspace = makeWorkspace(configWith(httpPort))
    daemon = await startDaemon(workspace)
    push = pushTo(daemon.port)
    await push.heartbeat("http-token-two", "steady.example.com", { payload: { uptime: 99, role: "db" } })
    await push.send("not json at all")
    await pollListed("Client2", "steady.example.com")
  })

  /** Waits until the API lists the resource. */
  const pollListed = async (client: string, resource: string) => {
    for (let i = 0; i < 200; i++) {
      if ((await get(`/api/resources/${client}/${resource}`)).status === 200) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`${resource} never listed`)
  }
  afterAll(async () => {
    push.close()
    await daemon.stop("SIGKILL")
  })

  it("healthz and readyz", async () => {
    expect(await (await get("/healthz")).text()).toBe("ok\n")
    expect(await json(get("/readyz"))).toMatchObject({ ready: true, endpoint: `tcp://127.0.0.1:${daemon.port}` })
  })

  it("lists resources with status, times and timeout; filters by client and status", async () => {
    const all = await json(get("/api/resources")) as Array<Record<string, unknown>>
    expect(all.map((r) => `${r["client"]}/${r["resource"]}:${r["status"]}`)).toEqual([
      "Client1/configured.example.com:not_registered",
      "Client2/steady.example.com:alive"
    ])
    const steady = all[1]!
    expect(steady).toMatchObject({ configured: false, timeoutSeconds: 3600, severity: "critical", service: "heartbeat" })
    expect(Date.parse(steady["deadline"] as string) - Date.parse(steady["lastSeen"] as string)).toBe((3600 + 1) * 1000)
    expect((await json(get("/api/resources?client=Client1"))).map((r: { resource: string }) => r.resource))
      .toEqual(["configured.example.com"])
    expect((await json(get("/api/resources?status=alive"))).map((r: { resource: string }) => r.resource))
      .toEqual(["steady.example.com"])
    const bad = await get("/api/resources?status=dead")
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: 'status must be one of alive, stale, not_registered, paused, client_removed (or several, separated by commas), got "dead"' })
  })

  it("shows one resource with its last payload and recent events", async () => {
    const detail = await json(get("/api/resources/Client2/steady.example.com"))
    expect(detail).toMatchObject({ client: "Client2", resource: "steady.example.com", payload: { uptime: 99, role: "db" } })
    expect(detail.recentEvents.map((e: { event: string }) => e.event)).toEqual(["heartbeat_mesh_heartbeat_new"])
    expect((await get("/api/resources/Client2/nope")).status).toBe(404)
  })

  it("admin actions need the admin token", async () => {
    expect((await post("/api/resources/Client2/steady.example.com/pause")).status).toBe(401)
    expect((await post("/api/resources/Client2/steady.example.com/pause", "wrong")).status).toBe(401)
    expect((await post("/api/resources/Client2/steady.example.com/pause", "http-token-two")).status).toBe(401)
    expect((await post("/api/resources/Client2/steady.example.com/explode", "admin-secret")).status).toBe(404)
    // Every error answer is { error: <sentence> }, whatever its status.
    expect(await json(get("/api/resources/Client2/nope"))).toEqual({ error: "no such resource" })
    expect(await json(post("/api/resources/Client2/steady.example.com/pause"))).toEqual({ error: "admin token required (Authorization: Bearer ...)" })
    expect(await json(post("/api/resources/Client2/steady.example.com/explode", "admin-secret")))
      .toEqual({ error: 'unknown action "explode": use deregister, pause, resume or dyndns' })
    const paused = await post("/api/resources/Client2/steady.example.com/pause", "admin-secret")
    expect(await paused.json()).toEqual({ ok: true, action: "pause", client: "Client2", resource: "steady.example.com" })
    expect((await json(get("/api/resources/Client2/steady.example.com"))).status).toBe("paused")
    await post("/api/resources/Client2/steady.example.com/resume", "admin-secret")
    expect((await json(get("/api/resources/Client2/steady.example.com"))).status).toBe("alive")
  })

  it("a paused resource does not alert until resumed; others do", async () => {
    await push.heartbeat("http-token-one", "quiet.example.com")
    await push.heartbeat("http-token-one", "loud.example.com")
    await pollListed("Client1", "quiet.example.com")
    const pause = await post("/api/resources/Client1/quiet.example.com/pause", "admin-secret")
    expect(pause.status).toBe(200)
    // Keep the receiver active (storm suppression) while both go stale.
    const keeper = setInterval(() => void push.heartbeat("http-token-two", "steady.example.com"), 300)
    try {
      await waitFor("loud times out", () =>
        workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_timeout" && n.resource === "loud.example.com"))
      // loud has timed out twice (once per second): quiet, stale just as long, has not alerted.
      await waitFor("a repeat for loud", () =>
        workspace.notifications().filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout" && n.resource === "loud.example.com").length >= 2 ? true : undefined)
      expect(workspace.notifications().filter((n) => n.resource === "quiet.example.com").map((n) => n.event))
        .toEqual(["heartbeat_mesh_heartbeat_new"])
      expect((await json(get("/api/resources?status=paused"))).map((r: { resource: string }) => r.resource))
        .toEqual(["quiet.example.com"])
      await post("/api/resources/Client1/quiet.example.com/resume", "admin-secret")
      await waitFor("quiet alerts once resumed", () =>
        workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_timeout" && n.resource === "quiet.example.com"))
    } finally {
      clearInterval(keeper)
    }
  })

  it("deregisters through the API", async () => {
    await push.heartbeat("http-token-two", "temp.example.com")
    await pollListed("Client2", "temp.example.com")
    const response = await post("/api/resources/Client2/temp.example.com/deregister", "admin-secret")
    expect(response.status).toBe(200)
    await waitFor("deregistered", () =>
      workspace.notifications().find((n) => n.event === "heartbeat_mesh_heartbeat_deregistered" && n.resource === "temp.example.com"))
    expect((await get("/api/resources/Client2/temp.example.com")).status).toBe(404)
  })

  it("lists recent events newest first, in pages", async () => {
    const first = await json(get("/api/events?limit=2"))
    expect(first.items).toHaveLength(2)
    expect(first.items[0].seq).toBeGreaterThan(first.items[1].seq)
    expect(first.next).toBe(first.items[1].seq)
    const second = await json(get(`/api/events?limit=2&before=${first.next}`))
    expect(second.items[0].seq).toBe(first.next - 1)
    const all = await json(get("/api/events?limit=1000"))
    expect(all.next).toBeNull()
    expect(all.items.at(-1).seq).toBe(1)
    expect((await get("/api/events?limit=5000")).status).toBe(400)
  })

  it("serves Prometheus metrics that parse and add up", async () => {
    const response = await get("/metrics")
    expect(response.headers.get("content-type")).toContain("text/plain")
    const samples = parsePrometheus(await response.text())
    expect(samples.get('heartbeat_mesh_heartbeats_rejected_total{reason="not_json"}')).toBe(1)
    expect(samples.get('heartbeat_mesh_heartbeats_rejected_total{reason="unknown_token"}')).toBe(0)
    expect(samples.get("heartbeat_mesh_heartbeats_received_total")).toBe(
      samples.get("heartbeat_mesh_heartbeats_accepted_total")! +
        samples.get("heartbeat_mesh_heartbeats_deregistered_total")! +
        [...samples].filter(([name]) => name.startsWith("heartbeat_mesh_heartbeats_rejected_total")).reduce((sum, [, v]) => sum + v, 0)
    )
    const resources = ["alive", "stale", "not_registered", "paused"].map((s) => samples.get(`heartbeat_mesh_resources{status="${s}"}`)!)
    const listed = await json(get("/api/resources"))
    expect(resources.reduce((a, b) => a + b, 0)).toBe(listed.length)
    expect(samples.get("heartbeat_mesh_notifications_sent_total")).toBeGreaterThan(0)
    expect(samples.get("heartbeat_mesh_actor_restarts_total")).toBe(0)
    expect(samples.has("heartbeat_mesh_event_loop_lag_seconds")).toBe(true)
    // Counted where they happen: every accepted heartbeat is one change, the store and reloads report.
    expect(samples.get('heartbeat_mesh_resource_changes_total{cause="heartbeat"}')).toBe(samples.get("heartbeat_mesh_heartbeats_accepted_total"))
    expect(samples.get("heartbeat_mesh_change_listener_failures_total")).toBe(0)
    expect(samples.get("heartbeat_mesh_state_write_failures_total")).toBe(0)
    expect(samples.has("heartbeat_mesh_state_flushes_total")).toBe(true)
    expect(samples.get('heartbeat_mesh_config_reloads_total{outcome="refused"}')).toBe(0)
    expect(samples.get("heartbeat_mesh_heartbeat_files_errors_total")).toBe(0)
    expect(samples.get("heartbeat_mesh_heartbeat_files_rotations_total")).toBe(0)
    expect(samples.get("heartbeat_mesh_file_lag_seconds")).toBeGreaterThanOrEqual(0)
  })

  it("serves the OpenAPI document of the REST API, generated from its typed definition", async () => {
    const response = await get("/api/openapi.json")
    expect(response.status).toBe(200)
    const document = await json(Promise.resolve(response))
    expect(document.openapi).toMatch(/^3\./)
    expect(document.info.title).toBe("heartbeat-mesh receiver")
    expect(Object.keys(document.paths).sort()).toEqual([
      "/api/clients/{client}/silence",
      "/api/events",
      "/api/resources",
      "/api/resources/{client}/{resource}",
      "/api/resources/{client}/{resource}/history",
      "/api/resources/{client}/{resource}/silence",
      "/api/resources/{client}/{resource}/uptime",
      "/api/resources/{client}/{resource}/{action}",
      "/api/silences",
      "/api/summary",
      "/readyz"
    ])
    expect(Object.keys(document.paths["/api/resources"].get.responses).sort()).toEqual(["200", "400", "401"])
    expect(Object.keys(document.paths["/api/resources/{client}/{resource}/{action}"].post.responses).sort())
      .toEqual(["200", "401", "403", "404"])
    // Silences (issue 18.3): set with a body, lifted with DELETE.
    expect(Object.keys(document.paths["/api/resources/{client}/{resource}/silence"]).sort()).toEqual(["delete", "post"])
    expect(Object.keys(document.paths["/api/resources/{client}/{resource}/silence"].post.responses).sort())
      .toEqual(["200", "400", "401", "403", "404", "409", "503"])
    expect(Object.keys(document.components.schemas.SilenceRequest.properties).sort()).toEqual(["duration", "reason", "until"])
    const resource = JSON.stringify(document.components.schemas.Resource)
    for (const field of ["client", "resource", "status", "configured", "severity", "service", "environment", "location", "firstSeen", "lastSeen", "deadline", "timeoutSeconds"]) {
      expect(resource).toContain(`"${field}"`)
    }
    expect(resource).toContain('"not_registered"')
  })

  it("streams heartbeats and notifications as Server-Sent Events", async () => {
    const controller = new AbortController()
    const response = await fetch(base + "/api/feed", { signal: controller.signal })
    expect(response.headers.get("content-type")).toBe("text/event-stream")
    const { readUntil, text } = feedReader(response)
    await readUntil("event: ready")
    await push.heartbeat("http-token-two", "feed.example.com")
    await readUntil('"resource":"feed.example.com"')
    expect(text()).toMatch(/id: \d+\nevent: notification\ndata: \{"seq":\d+,"at":"[^"]+","severity":"informational","event":"heartbeat_mesh_heartbeat_new"/)
    await readUntil("event: heartbeats")
    // The server's status comes with each heartbeat: the page never computes it.
    expect(text()).toMatch(/event: heartbeats\ndata: \[.*\{"client":"Client2","resource":"feed.example.com","at":"[^"]+","status":"alive","deadline":"[^"]+"\}/)
    // Other changes arrive as whole views: a pause through the API.
    expect((await post("/api/resources/Client2/feed.example.com/pause", "admin-secret")).status).toBe(200)
    await readUntil("event: resources")
    await readUntil('"status":"paused"')
    expect(text()).toMatch(/event: resources\ndata: \[\{"client":"Client2","resource":"feed.example.com","status":"paused",/)
    controller.abort()
  })
})

describe("read token", () => {
  it("reads need the read token (or the admin token) when one is configured; health checks do not", async () => {
    const httpPort = await freePort()
    const workspace = makeWorkspace(configWith(httpPort, "  read_token: reader-secret\n"))
    const daemon = await startDaemon(workspace)
    try {
      const base = `http://127.0.0.1:${httpPort}`
      const read = (token?: string) =>
        fetch(`${base}/api/resources`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
      expect((await read()).status).toBe(401)
      expect(await (await read()).json()).toEqual({ error: "this receiver needs a Bearer token to read (http.read_token)" })
      expect((await read("wrong")).status).toBe(401)
      expect((await read("reader-secret")).status).toBe(200)
      expect((await read("admin-secret")).status).toBe(200)
      expect((await fetch(`${base}/metrics`)).status).toBe(401)
      expect((await fetch(`${base}/healthz`)).status).toBe(200)
      // The reader cannot act.
      const act = await fetch(`${base}/api/resources/Client1/configured.example.com/pause`, {
        method: "POST",
        headers: { authorization: "Bearer reader-secret" }
      })
      expect(act.status).toBe(401)
      expect(daemon.stderr()).not.toContain("reader-secret")
    } finally {
      await daemon.stop("SIGKILL")
    }
  })
})
