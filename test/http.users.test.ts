import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { feedReader } from "./support/httpReads.ts"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { parsePrometheus } from "./support/ingressClients.ts"
import { hashPassword, tokenDigest } from "../src/support/passwordHash.ts"

// Users and roles (issue 18.3) against a real daemon: every role and scope through the API with
// API tokens, sessions with cookies and CSRF, the shortcut tokens, the feed's scope, the limit on
// failed logins.

const tokens = {
  viewer: "hmt_viewer-token-0000000000000000000000000",
  operator: "hmt_operator-token-00000000000000000000000",
  owner: "hmt_owner-token-000000000000000000000000000",
  admin: "hmt_admin-token-000000000000000000000000000",
  scopedAdmin: "hmt_scoped-admin-token-000000000000000000"
}

// Test code reads the API's JSON loosely.
const json = (response: Promise<Response>): Promise<any> => response.then((r) => r.json())

describe("users and roles over real HTTP (daemon process)", () => {
  let daemon: RunningDaemon
  let base: string
  const as = (token: string | undefined, init: RequestInit = {}) =>
    token === undefined ? init : { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } }
  const get = (path: string, token?: string) => fetch(base + path, as(token))
  const post = (path: string, token?: string) => fetch(base + path, as(token, { method: "POST" }))
  const names = async (path: string, token?: string) =>
    ((await json(get(path, token))) as Array<{ client: string; resource: string }>).map((view) => `${view.client}/${view.resource}`)
  const login = (user: string, password: string) =>
    fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, password }) })
  const metrics = async () => parsePrometheus(await (await get("/metrics", tokens.admin)).text())

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    const viewerHash = await hashPassword("viewer password")
    const operatorHash = await hashPassword("operator password")
    daemon = await startDaemon(makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
rare_check_interval: 3600
clients:
  Client1:
    token: t-one
    timeout: 60
    resources: { a1.example.com: {}, a2.example.com: {} }
  Client2:
    token: t-two
    timeout: 60
    resources: { b1.example.com: {}, b2.example.com: {} }
  team-a:
    token: t-team-a
    timeout: 60
    resources: { c1.example.com: {} }
  teamless:
    token: t-teamless
    timeout: 60
    resources: { d1.example.com: {} }
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: legacy-admin
  read_token: legacy-reader
users:
  vera: { role: viewer, clients: [Client1], password: "${viewerHash}", api_tokens: ["${tokenDigest(tokens.viewer)}"] }
  otto: { role: operator, clients: [Client1, "team-*"], password: "${operatorHash}", api_tokens: ["${tokenDigest(tokens.operator)}"] }
  olga: { role: owner, clients: [Client2], api_tokens: ["${tokenDigest(tokens.owner)}"] }
  adam: { role: admin, api_tokens: ["${tokenDigest(tokens.admin)}"] }
  sam: { role: admin, clients: ["team-*"], api_tokens: ["${tokenDigest(tokens.scopedAdmin)}"] }
`))
  })

  afterAll(async () => {
    await daemon?.stop("SIGKILL")
  })

  it("a viewer's token reads only its clients: list, counts, summary, detail, events; it may not act", async () => {
    expect(await names("/api/resources", tokens.viewer)).toEqual(["Client1/a1.example.com", "Client1/a2.example.com"])
    const page = await get("/api/resources?limit=1", tokens.viewer)
    expect([page.headers.get("x-total-count"), page.headers.get("x-status-counts")]).toEqual(["2", "stale=0, not_registered=2, paused=0, alive=0, client_removed=0"])
    expect((await names("/api/resources?sort=-lastSeen", tokens.viewer)).sort()).toEqual(["Client1/a1.example.com", "Client1/a2.example.com"])
    expect(await names("/api/resources?q=a2", tokens.viewer)).toEqual(["Client1/a2.example.com"])
    expect(await names("/api/resources?client=Client2", tokens.viewer)).toEqual([])
    expect(await json(get("/api/summary", tokens.viewer))).toEqual({
      total: 2,
      counts: { stale: 0, not_registered: 2, paused: 0, alive: 0, client_removed: 0 },
      clients: [{ client: "Client1", total: 2, counts: { stale: 0, not_registered: 2, paused: 0, alive: 0, client_removed: 0 } }]
    })
    expect((await get("/api/resources/Client1/a1.example.com", tokens.viewer)).status).toBe(200)
    // Outside the scope it does not exist.
    expect(await json(get("/api/resources/Client2/b1.example.com", tokens.viewer))).toEqual({ error: "no such resource" })
    expect((await get("/api/resources/Client2/b1.example.com", tokens.viewer)).status).toBe(404)
    // Its history and uptime likewise (issue 18.1): its own client's, never another's.
    expect((await get("/api/resources/Client1/a1.example.com/history", tokens.viewer)).status).toBe(200)
    expect((await get("/api/resources/Client1/a1.example.com/uptime", tokens.viewer)).status).toBe(200)
    expect((await get("/api/resources/Client2/b1.example.com/history", tokens.viewer)).status).toBe(404)
    expect((await get("/api/resources/Client2/b1.example.com/uptime", tokens.viewer)).status).toBe(404)
    const refused = await post("/api/resources/Client1/a1.example.com/pause", tokens.viewer)
    expect([refused.status, await refused.json()]).toEqual([403, { error: "user vera (viewer) may not pause in client Client1" }])
    expect((await post("/api/resources/Client2/b1.example.com/pause", tokens.viewer)).status).toBe(404)
    // Metrics count every client: not for a scoped user.
    expect((await get("/metrics", tokens.viewer)).status).toBe(403)
  })

  it("an operator pauses and resumes in its clients (names and globs), but may not deregister; elsewhere nothing exists", async () => {
    expect(await names("/api/resources", tokens.operator)).toEqual(["Client1/a1.example.com", "Client1/a2.example.com", "team-a/c1.example.com"])
    const paused = await post("/api/resources/team-a/c1.example.com/pause", tokens.operator)
    expect([paused.status, await paused.json()]).toEqual([200, { ok: true, action: "pause", client: "team-a", resource: "c1.example.com" }])
    expect((await json(get("/api/resources/team-a/c1.example.com", tokens.operator))).status).toBe("paused")
    expect((await post("/api/resources/team-a/c1.example.com/resume", tokens.operator)).status).toBe(200)
    expect((await json(get("/api/resources/team-a/c1.example.com", tokens.operator))).status).toBe("not_registered")
    expect((await post("/api/resources/teamless/d1.example.com/pause", tokens.operator)).status).toBe(404)
    expect((await post("/api/resources/Client2/b1.example.com/pause", tokens.operator)).status).toBe(404)
    const deregister = await post("/api/resources/Client1/a1.example.com/deregister", tokens.operator)
    expect([deregister.status, await deregister.json()]).toEqual([403, { error: "user otto (operator) may not deregister in client Client1" }])
  })

  it("an owner deregisters in its client; an admin does everything everywhere; an admin scoped to team-* only there", async () => {
    expect((await post("/api/resources/Client1/a2.example.com/deregister", tokens.owner)).status).toBe(404)
    expect((await post("/api/resources/Client2/b2.example.com/deregister", tokens.owner)).status).toBe(200)
    expect(await names("/api/resources", tokens.owner)).toEqual(["Client2/b1.example.com", "Client2/b2.example.com"])
    expect((await post("/api/resources/teamless/d1.example.com/pause", tokens.admin)).status).toBe(200)
    expect((await post("/api/resources/teamless/d1.example.com/resume", tokens.admin)).status).toBe(200)
    expect((await get("/metrics", tokens.admin)).status).toBe(200)
    expect((await names("/api/resources", tokens.admin)).length).toBe(6)
    expect((await post("/api/resources/teamless/d1.example.com/pause", tokens.scopedAdmin)).status).toBe(404)
    expect((await post("/api/resources/team-a/c1.example.com/pause", tokens.scopedAdmin)).status).toBe(200)
    expect((await post("/api/resources/team-a/c1.example.com/resume", tokens.scopedAdmin)).status).toBe(200)
    expect((await get("/metrics", tokens.scopedAdmin)).status).toBe(403)
  })

  it("the shortcut tokens keep working; with users configured nothing is open; an unknown token is nobody", async () => {
    expect((await names("/api/resources", "legacy-reader")).length).toBe(6)
    expect((await post("/api/resources/teamless/d1.example.com/pause", "legacy-reader")).status).toBe(401)
    expect((await post("/api/resources/teamless/d1.example.com/pause", "legacy-admin")).status).toBe(200)
    expect((await post("/api/resources/teamless/d1.example.com/resume", "legacy-admin")).status).toBe(200)
    expect((await get("/metrics", "legacy-reader")).status).toBe(200)
    const anonymous = await get("/api/resources")
    expect([anonymous.status, await anonymous.json()])
      .toEqual([401, { error: "sign in (POST /api/login) or send a Bearer token (http.read_token or a user's API token)" }])
    expect((await get("/api/resources", "hmt_not-a-token")).status).toBe(401)
    expect((await get("/api/feed")).status).toBe(401)
    expect((await get("/api/summary")).status).toBe(401)
    expect((await get("/api/events")).status).toBe(401)
  })

  it("the feed and the events show a scoped user only its clients", async () => {
    const feed = await get("/api/feed", tokens.viewer)
    expect(feed.status).toBe(200)
    const reader = feedReader(feed)
    await reader.readUntil("event: ready")
    const push = pushTo(daemon.port)
    // New resources: their first heartbeats are notified (heartbeat_new).
    await push.heartbeat("t-two", "new-b.example.com")
    await push.heartbeat("t-one", "new-a.example.com")
    await reader.readUntil("new-a.example.com")
    // Both are in: the admin's events list both, the viewer's only its own.
    for (;;) {
      const events = (await json(get("/api/events", tokens.admin))).items as Array<{ client: string; resource: string }>
      if (events.some((event) => event.resource === "new-b.example.com") && events.some((event) => event.resource === "new-a.example.com")) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const viewerEvents = (await json(get("/api/events", tokens.viewer))).items as Array<{ client: string }>
    expect(viewerEvents.length).toBeGreaterThan(0)
    expect(viewerEvents.filter((event) => event.client !== "Client1")).toEqual([])
    expect((await json(get("/api/events?client=Client2", tokens.viewer))).items).toEqual([])
    await push.heartbeat("t-one", "a2.example.com")
    await reader.readUntil("a2.example.com")
    expect(reader.text()).not.toContain("new-b.example.com")
    push.close()
  })

  it("the WebSocket feed shows a scoped user only its clients, whatever it subscribes to", async () => {
    const socket = new WebSocket(`ws://${base.slice("http://".length)}/api/feed/ws`, { headers: { authorization: `Bearer ${tokens.viewer}` } })
    const texts: Array<string> = []
    socket.on("message", (data) => texts.push(String(data)))
    await new Promise((resolve, reject) => {
      socket.once("open", resolve)
      socket.once("error", reject)
    })
    // Asking for another client gives nothing of it.
    socket.send(JSON.stringify({ type: "subscribe", client: "Client2" }))
    const push = pushTo(daemon.port)
    const seen = (needle: string) => waitFor(`the feed to carry ${needle}`, () => (texts.some((text) => text.includes(needle)) ? true : undefined))
    await seen('"subscribed"')
    await push.heartbeat("t-two", "ws-b.example.com")
    socket.send(JSON.stringify({ type: "subscribe" }))
    await seen('"subscribed","data":{}')
    await push.heartbeat("t-two", "ws-b2.example.com")
    await push.heartbeat("t-one", "ws-a.example.com")
    await seen("ws-a.example.com")
    await push.heartbeat("t-one", "ws-a2.example.com")
    await seen("ws-a2.example.com")
    expect(texts.filter((text) => text.includes("ws-b"))).toEqual([])
    socket.close()
    push.close()
  })

  it("a session: HttpOnly SameSite=Strict cookie; every change needs the CSRF token; logout ends it", async () => {
    const signedIn = await login("otto", "operator password")
    expect(signedIn.status).toBe(200)
    const cookieLine = signedIn.headers.get("set-cookie")!
    expect(cookieLine).toMatch(/^heartbeat_mesh_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/)
    const answer: any = await signedIn.json()
    expect(answer).toMatchObject({ user: "otto", role: "operator", clients: ["Client1", "team-*"], via: "session", login: true })
    const cookie = cookieLine.split(";")[0]!
    const withCookie = (init: RequestInit = {}, csrf?: string) => ({
      ...init,
      headers: { cookie, ...(csrf === undefined ? {} : { "x-csrf-token": csrf }) }
    })
    expect(await json(fetch(`${base}/api/session`, withCookie()))).toMatchObject({ user: "otto", csrf: answer.csrf })
    expect([...new Set((await json(fetch(`${base}/api/resources`, withCookie()))).map((view: { client: string }) => view.client))].sort())
      .toEqual(["Client1", "team-a"])
    const before = (await metrics()).get("heartbeat_mesh_auth_csrf_refused_total") ?? 0
    const noCsrf = await fetch(`${base}/api/resources/Client1/a1.example.com/pause`, withCookie({ method: "POST" }))
    expect([noCsrf.status, ((await noCsrf.json()) as { error: string }).error]).toEqual([403, expect.stringMatching(/^missing or wrong x-csrf-token header/)])
    expect((await fetch(`${base}/api/resources/Client1/a1.example.com/pause`, withCookie({ method: "POST" }, "guessed"))).status).toBe(403)
    expect((await json(get("/api/resources/Client1/a1.example.com", tokens.admin))).status).not.toBe("paused")
    expect((await metrics()).get("heartbeat_mesh_auth_csrf_refused_total")).toBe(before + 2)
    const paused = await fetch(`${base}/api/resources/Client1/a1.example.com/pause`, withCookie({ method: "POST" }, answer.csrf))
    expect(paused.status).toBe(200)
    expect((await fetch(`${base}/api/resources/Client1/a1.example.com/resume`, withCookie({ method: "POST" }, answer.csrf))).status).toBe(200)
    expect((await fetch(`${base}/api/logout`, withCookie({ method: "POST" }))).status).toBe(403)
    const out = await fetch(`${base}/api/logout`, withCookie({ method: "POST" }, answer.csrf))
    expect([out.status, out.headers.get("set-cookie")]).toEqual([200, "heartbeat_mesh_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"])
    expect((await fetch(`${base}/api/resources`, withCookie())).status).toBe(401)
    expect(await json(fetch(`${base}/api/session`, withCookie()))).toMatchObject({ user: null, login: true })
    // A login must be JSON (a form of another site cannot send it).
    const form = await fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "user=otto&password=x" })
    expect(form.status).toBe(415)
    expect(daemon.stderr()).not.toContain("operator password")
    expect(daemon.stderr()).not.toContain(answer.csrf)
  })

  it("hostile sign-in input gets a sentence, never a crash, and does not count as a failed login", async () => {
    const send = (body: string, contentType = "application/json") =>
      fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": contentType }, body })
    const failedBefore = (await metrics()).get('heartbeat_mesh_auth_logins_total{outcome="failed"}') ?? 0
    for (const body of ["not json", "[1,2]", "null", '{"user": 5, "password": "x"}', '{"user": "vera"}', '{"user": "", "password": "x"}']) {
      const answer = await send(body)
      expect([body, answer.status, await answer.json()]).toEqual([body, 400, { error: 'send {"user": ..., "password": ...} as application/json' }])
    }
    const big = await send(JSON.stringify({ user: "vera", password: "x".repeat(5000) }))
    expect([big.status, await big.json()]).toEqual([413, { error: "the login body is limited to 4096 bytes" }])
    // A made-up session cookie is nobody; with a made-up CSRF token it still cannot act.
    const forged = { cookie: "heartbeat_mesh_session=made-up", "x-csrf-token": "made-up" }
    expect(await json(fetch(`${base}/api/session`, { headers: forged }))).toMatchObject({ user: null, login: true })
    expect((await fetch(`${base}/api/resources/Client1/a1.example.com/pause`, { method: "POST", headers: forged })).status).toBe(401)
    expect((await metrics()).get('heartbeat_mesh_auth_logins_total{outcome="failed"}')).toBe(failedBefore)
    expect((await get("/healthz")).status).toBe(200)
  })

  // Last: it uses up the failed-login allowance of 127.0.0.1.
  it("failed logins are limited per user name and per address: after 5, even the right password is refused (429)", async () => {
    const start = await metrics()
    const failedBefore = start.get('heartbeat_mesh_auth_logins_total{outcome="failed"}') ?? 0
    const wrong = await login("vera", "guess 0")
    expect([wrong.status, await wrong.json()]).toEqual([401, { error: "wrong user name or password" }])
    for (let i = 1; i < 5; i++) expect((await login("vera", `guess ${i}`)).status).toBe(401)
    const limited = await login("vera", "viewer password")
    expect([limited.status, limited.headers.get("retry-after"), await limited.json()])
      .toEqual([429, "12", { error: "too many failed logins: try again in a minute" }])
    // Another user from the same address is refused too (the address's allowance is spent).
    expect((await login("otto", "operator password")).status).toBe(429)
    const end = await metrics()
    expect(end.get('heartbeat_mesh_auth_logins_total{outcome="failed"}')).toBe(failedBefore + 5)
    expect(end.get('heartbeat_mesh_auth_logins_total{outcome="limited"}')).toBe(2)
    expect(daemon.stderr()).toContain("failed dashboard login")
    expect(daemon.stderr()).not.toContain("guess 3")
  })
})
