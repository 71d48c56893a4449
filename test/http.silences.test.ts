import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor, waitForAsync } from "./support/daemonProcess.ts"
import { parsePrometheus } from "./support/ingressClients.ts"
import { hashPassword, tokenDigest } from "../src/support/passwordHash.ts"

// Silences (issue 18.3: the operator's "silence") against a real daemon over real HTTP: who may,
// what the body must be, what the list shows, the history entries, the metrics, notifications held
// and let go, and a silence surviving a restart (SQLite).

const tokens = {
  viewer: "hmt_viewer-token-0000000000000000000000000",
  operator: "hmt_operator-token-00000000000000000000000",
  otherOperator: "hmt_other-operator-token-000000000000000"
}
const admin = "silence-admin"

// Test code reads the API's JSON loosely.
type Json = any

const config = (httpPort: number, operatorHash: string) => `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 0
rare_check_interval: 3600
clients:
  Client1:
    token: t-one
    timeout: 0.02
    resources: { a1.example.com: {}, a2.example.com: {} }
  Client2:
    token: t-two
    timeout: 60
    resources: { b1.example.com: {} }
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: ${admin}
users:
  vera: { role: viewer, clients: [Client1], api_tokens: ["${tokenDigest(tokens.viewer)}"] }
  otto: { role: operator, clients: [Client1], password: "${operatorHash}", api_tokens: ["${tokenDigest(tokens.operator)}"] }
  olga: { role: operator, clients: [Client2], api_tokens: ["${tokenDigest(tokens.otherOperator)}"] }
`

const storedSilences = (stateDir: string) => {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true })
  try {
    return db.prepare("SELECT client, resource, reason, by_name FROM silences_v1 ORDER BY client, resource").all()
  } finally {
    db.close()
  }
}

const storedKinds = (stateDir: string): Array<string> => {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true })
  try {
    return (db.prepare("SELECT kind FROM history ORDER BY id").all() as Array<{ kind: string }>).map((row) => row.kind)
  } finally {
    db.close()
  }
}

describe("silences over real HTTP (daemon process)", () => {
  let daemon: RunningDaemon
  let base: string
  let workspace: ReturnType<typeof makeWorkspace>
  const request = (method: string, path: string, token: string | undefined, body?: unknown) =>
    fetch(base + path, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" })
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
    })
  const answer = async (response: Promise<Response>): Promise<[number, Json]> => {
    const done = await response
    return [done.status, await done.json()]
  }
  const metrics = async () => parsePrometheus(await (await request("GET", "/metrics", admin)).text())
  const historyOf = async (client: string, resource: string): Promise<Array<Json>> =>
    ((await (await request("GET", `/api/resources/${client}/${resource}/history`, admin)).json()) as Json).items

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    workspace = makeWorkspace(config(httpPort, await hashPassword("operator password")))
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
  })

  afterAll(async () => {
    await daemon?.stop("SIGKILL")
  })

  it("who may: a viewer is refused (403), an operator of another client finds nothing (404), nobody is asked who (401)", async () => {
    const body = { duration: "2h", reason: "disk swap" }
    expect(await answer(request("POST", "/api/resources/Client1/a1.example.com/silence", tokens.viewer, body)))
      .toEqual([403, { error: "user vera (viewer) may not silence in client Client1" }])
    expect(await answer(request("POST", "/api/clients/Client1/silence", tokens.viewer, body)))
      .toEqual([403, { error: "user vera (viewer) may not silence in client Client1" }])
    expect((await request("POST", "/api/resources/Client1/a1.example.com/silence", tokens.otherOperator, body)).status).toBe(404)
    expect((await request("POST", "/api/clients/Client1/silence", tokens.otherOperator, body)).status).toBe(404)
    expect((await request("DELETE", "/api/resources/Client1/a1.example.com/silence", tokens.viewer)).status).toBe(403)
    expect((await request("POST", "/api/resources/Client1/a1.example.com/silence", undefined, body)).status).toBe(401)
    expect(await answer(request("GET", "/api/silences", admin))).toEqual([200, { items: [] }])
  })

  it("the body and the target: one sentence for each problem", async () => {
    const silence = (body: unknown, path = "/api/resources/Client1/a1.example.com/silence") => answer(request("POST", path, tokens.operator, body))
    expect(await silence("not json")).toEqual([400, { error: "the body must be JSON: {duration | until, reason}" }])
    expect(await silence({ reason: "r" })).toEqual([400, { error: "give either duration or until (one of them)" }])
    expect(await silence({ duration: "2h" })).toEqual([400, { error: "reason is required: a short text saying why" }])
    expect(await silence({ until: "2020-01-01T00:00:00Z", reason: "r" })).toEqual([400, { error: "until must be in the future" }])
    expect(await silence({ duration: "1h", reason: "r" }, "/api/resources/Client1/nope.example.com/silence")).toEqual([404, { error: "no such resource" }])
    expect(await answer(request("POST", "/api/clients/NoSuchClient/silence", admin, { duration: "1h", reason: "r" }))).toEqual([404, { error: "no such client" }])
    expect(await answer(request("DELETE", "/api/resources/Client1/a1.example.com/silence", tokens.operator)))
      .toEqual([404, { error: "the resource has no silence" }])
    expect(await answer(request("DELETE", "/api/clients/Client1/silence", tokens.operator))).toEqual([404, { error: "the client has no silence" }])
  })

  it("an operator silences a resource and lifts it; the admin token silences a whole client; the list, the history and /metrics show them", async () => {
    const [status, set] = await answer(request("POST", "/api/resources/Client1/a1.example.com/silence", tokens.operator, { duration: "2h", reason: "disk swap" }))
    expect(status).toBe(200)
    expect(set).toMatchObject({ client: "Client1", resource: "a1.example.com", reason: "disk swap", by: "otto" })
    expect(Date.parse(set.until) - Date.parse(set.from)).toBe(2 * 3600_000)
    const until = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30 * 24 * 3600_000).toISOString()
    const [clientStatus, clientWide] = await answer(request("POST", "/api/clients/Client2/silence", admin, { until, reason: "moving racks" }))
    expect([clientStatus, clientWide]).toEqual([200, { client: "Client2", resource: null, from: expect.any(String), until, reason: "moving racks", by: "admin_token" }])

    // The list: earliest end first; each user sees its clients' only.
    expect((await answer(request("GET", "/api/silences", admin)))[1].items).toEqual([set, clientWide])
    expect((await answer(request("GET", "/api/silences", tokens.viewer)))[1].items).toEqual([set])
    expect((await answer(request("GET", "/api/silences", tokens.otherOperator)))[1].items).toEqual([clientWide])
    expect((await metrics()).get("heartbeat_mesh_silences_active")).toBe(2)
    expect(storedSilences(workspace.stateDir)).toEqual([
      { client: "Client1", resource: "a1.example.com", reason: "disk swap", by_name: "otto" },
      { client: "Client2", resource: "", reason: "moving racks", by_name: "admin_token" }
    ])

    // The history: the resource's own entry; the client's shows in each of its resources.
    await waitForAsync("the silence in a1's history", async () =>
      (await historyOf("Client1", "a1.example.com")).some((item) => item.kind === "silenced") ? true : undefined)
    expect((await historyOf("Client1", "a1.example.com")).find((item) => item.kind === "silenced")).toEqual({
      seq: expect.any(Number),
      at: expect.any(String),
      kind: "silenced",
      status: null,
      detail: { by: "otto", from: set.from, until: set.until, reason: "disk swap", scope: "resource" }
    })
    expect((await historyOf("Client1", "a2.example.com")).map((item) => item.kind)).not.toContain("silenced")
    await waitForAsync("the client's silence in b1's history", async () =>
      (await historyOf("Client2", "b1.example.com")).some((item) => item.kind === "silenced") ? true : undefined)
    expect((await historyOf("Client2", "b1.example.com")).find((item) => item.kind === "silenced").detail)
      .toEqual({ by: "admin_token", from: clientWide.from, until, reason: "moving racks", scope: "client" })

    // Lifted by the operator: gone from the list, the store and the gauge; in the history with who lifted it.
    expect(await answer(request("DELETE", "/api/resources/Client1/a1.example.com/silence", tokens.operator))).toEqual([200, set])
    expect(await answer(request("DELETE", "/api/clients/Client2/silence", tokens.otherOperator))).toEqual([200, clientWide])
    expect(await answer(request("GET", "/api/silences", admin))).toEqual([200, { items: [] }])
    expect(storedSilences(workspace.stateDir)).toEqual([])
    const counted = await metrics()
    expect([counted.get("heartbeat_mesh_silences_active"), counted.get("heartbeat_mesh_silences_set_total"), counted.get("heartbeat_mesh_silences_lifted_total")])
      .toEqual([0, 2, 2])
    await waitForAsync("the lift in a1's history", async () =>
      (await historyOf("Client1", "a1.example.com")).some((item) => item.kind === "unsilenced") ? true : undefined)
    expect((await historyOf("Client1", "a1.example.com")).find((item) => item.kind === "unsilenced").detail)
      .toEqual({ by: "otto", reason: "disk swap", ended: "lifted", scope: "resource" })
  })

  it("a dashboard session needs the CSRF token to silence", async () => {
    const signedIn = await fetch(`${base}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "otto", password: "operator password" })
    })
    const { csrf } = (await signedIn.json()) as Json
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/resources/Client1/a2.example.com/silence`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ duration: 60, reason: "from the dashboard" })
      })
    expect((await post({})).status).toBe(403)
    expect((await post({ "x-csrf-token": "made-up" })).status).toBe(403)
    expect((await post({ "x-csrf-token": csrf })).status).toBe(200)
    const lift = (headers: Record<string, string>) =>
      fetch(`${base}/api/resources/Client1/a2.example.com/silence`, { method: "DELETE", headers: { cookie, ...headers } })
    expect((await lift({})).status).toBe(403)
    expect((await lift({ "x-csrf-token": csrf })).status).toBe(200)
  })

  it("a silenced resource's timeout is held while its neighbour's goes out; lifted, it goes out too", async () => {
    const push = pushTo(daemon.port)
    await push.heartbeat("t-one", "h1.example.com")
    await push.heartbeat("t-one", "h2.example.com")
    await waitForAsync("h1 known", async () => (await request("GET", "/api/resources/Client1/h1.example.com", admin)).status === 200 ? true : undefined)
    expect((await request("POST", "/api/resources/Client1/h1.example.com/silence", tokens.operator, { duration: "1h", reason: "r" })).status).toBe(200)
    // The receiver sends timeouts only while it hears heartbeats (activity): a keeper in the other client.
    const keeper = setInterval(() => void push.heartbeat("t-two", "keeper.example.com"), 200)
    const timeoutOf = (resource: string) =>
      daemon.stdoutNotifications().filter((n) => n.resource === resource && n.event === "heartbeat_mesh_heartbeat_timeout")
    // Both go stale at the same deadline (1.2 s + 1 s jitter); h2's timeout is sent, h1's held.
    await waitFor("h2's timeout", () => timeoutOf("h2.example.com").length > 0 ? true : undefined)
    await waitForAsync("h1 stale", async () =>
      ((await (await request("GET", "/api/resources/Client1/h1.example.com", admin)).json()) as Json).status === "stale" ? true : undefined)
    expect(timeoutOf("h1.example.com")).toEqual([])
    expect((await metrics()).get("heartbeat_mesh_notifications_held")).toBe(1)
    expect((await request("DELETE", "/api/resources/Client1/h1.example.com/silence", tokens.operator)).status).toBe(200)
    await waitFor("h1's timeout, once lifted", () => timeoutOf("h1.example.com").length > 0 ? true : undefined)
    clearInterval(keeper)
    push.close()
  })
})

describe("a silence survives a restart and ends by itself (daemon process, SQLite)", () => {
  let daemon: RunningDaemon | undefined
  afterEach(async () => {
    await daemon?.stop("SIGKILL")
    daemon = undefined
  })

  it("set, the daemon killed (SIGKILL) and started again: still in force; a short one ends by itself and is recorded so", async () => {
    const httpPort = await freePort()
    const base = `http://127.0.0.1:${httpPort}`
    const workspace = makeWorkspace(config(httpPort, await hashPassword("x")))
    const post = (path: string, body: unknown) =>
      fetch(base + path, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify(body) })
    const get = async (path: string): Promise<Json> => (await fetch(base + path, { headers: { authorization: `Bearer ${admin}` } })).json()

    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    const set: Json = await (await post("/api/clients/Client1/silence", { duration: "1d", reason: "migration" })).json()
    // The silence is written through; its history entry behind (within a second): wait for that one only.
    await waitFor("the silence's history entry written", () => storedKinds(workspace.stateDir).includes("silenced") ? true : undefined)
    await daemon.stop("SIGKILL")
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    expect(await get("/api/silences")).toEqual({ items: [set] })
    expect(daemon.stderr()).toContain("silences of the last run in force again")
    expect(parsePrometheus(await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text()).get("heartbeat_mesh_silences_active")).toBe(1)

    // One of a second ends by itself: gone from the list and the store, `unsilenced` (expired) in the history.
    expect((await post("/api/resources/Client1/a1.example.com/silence", { duration: 1, reason: "blink" })).status).toBe(200)
    await waitForAsync("the short silence over", async () => (await get("/api/silences")).items.length === 1 ? true : undefined)
    expect((await get("/api/silences")).items).toEqual([set])
    expect(storedSilences(workspace.stateDir)).toEqual([{ client: "Client1", resource: "", reason: "migration", by_name: "admin_token" }])
    await waitForAsync("the end in the history", async () =>
      (await get("/api/resources/Client1/a1.example.com/history")).items.some((item: Json) => item.kind === "unsilenced") ? true : undefined)
    const entries = (await get("/api/resources/Client1/a1.example.com/history")).items
    expect(entries.find((item: Json) => item.kind === "unsilenced").detail).toEqual({ by: null, reason: "blink", ended: "expired", scope: "resource" })
    // The client's silence is in a1's history too.
    expect(entries.filter((item: Json) => item.kind === "silenced").map((item: Json) => item.detail.reason).sort()).toEqual(["blink", "migration"])
  })
})
