import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { request as httpRequest } from "node:http"
import { connect } from "node:net"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"
import { parsePrometheus } from "./support/ingressClients.ts"
import { httpRequestLimits, securityHeaders } from "../src/http/requestBounds.ts"

const token = "bounds-token-0123456789"
const adminToken = "bounds-admin-0123456789"

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

/** One request; for a stream (SSE) the answer ends once its headers and first bytes are in. */
const fetchRaw = (url: string, options: { method?: string; headers?: Record<string, string>; body?: string; firstBytesOnly?: boolean } = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      const done = () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body })
      response.on("data", (chunk) => {
        body += chunk
        if (options.firstBytesOnly === true) {
          done()
          request.destroy()
        }
      })
      response.on("end", done)
    })
    request.on("error", reject)
    request.end(options.body)
  })

/** An SSE client that stays connected: resolves once the stream has begun, with a way to hang up. */
const followFeed = (url: string) =>
  new Promise<{ readonly status: number; readonly close: () => void }>((resolve, reject) => {
    const request = httpRequest(url, { agent: false }, (response) => {
      response.once("data", () => resolve({ status: response.statusCode ?? 0, close: () => request.destroy() }))
    })
    request.on("error", reject)
    request.end()
  })

/** What Node's parser itself answers (a malformed request): the raw bytes up to the end of the headers. */
const rawAnswer = (port: number, bytes: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes))
    let text = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk) => (text += chunk))
    socket.on("end", () => resolve(text))
    socket.on("error", reject)
  })

const expectSecurityHeaders = (what: string, headers: Answer["headers"]) => {
  for (const [name, value] of Object.entries(securityHeaders)) {
    expect({ what, name, value: headers[name] }).toEqual({ what, name, value })
  }
}

describe("HTTP security headers and request bounds (issue 13.9, real daemon)", () => {
  let daemon: RunningDaemon
  let api: string
  let ingress: string
  let apiPort: number
  let ingressPort: number

  beforeAll(async () => {
    apiPort = await freePort()
    ingressPort = await freePort()
    api = `http://127.0.0.1:${apiPort}`
    ingress = `http://127.0.0.1:${ingressPort}`
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
http:
  listen: "127.0.0.1:${apiPort}"
  ingress_listen: "127.0.0.1:${ingressPort}"
  admin_token: ${adminToken}
clients:
  Web:
    token: ${token}
    timeout: 10
    resources: {}
`)
    daemon = await startDaemon(workspace)
    const push = pushTo(daemon.port)
    await push.heartbeat(token, "db1.example.com", { payload: { note: "<script>alert(1)</script>" } })
    push.close()
    await waitForAsync("the resource", async () => ((await fetchRaw(`${api}/api/resources/Web/db1.example.com`)).status === 200 ? true : undefined))
  })
  afterAll(async () => {
    await daemon.stop("SIGKILL")
  })

  it("every answer of the API server carries them: pages, API, errors, 404, metrics, the feed", async () => {
    const admin = { authorization: `Bearer ${adminToken}` }
    const answers: ReadonlyArray<readonly [string, Promise<Answer>, number]> = [
      ["dashboard", fetchRaw(`${api}/`), 200],
      ["script", fetchRaw(`${api}/assets/app.js`), 200],
      ["style", fetchRaw(`${api}/assets/style.css`), 200],
      ["healthz", fetchRaw(`${api}/healthz`), 200],
      ["readyz", fetchRaw(`${api}/readyz`), 200],
      ["metrics", fetchRaw(`${api}/metrics`), 200],
      ["openapi", fetchRaw(`${api}/api/openapi.json`), 200],
      ["list", fetchRaw(`${api}/api/resources`), 200],
      ["events", fetchRaw(`${api}/api/events`), 200],
      ["unknown resource", fetchRaw(`${api}/api/resources/Web/nothing.example.com`), 404],
      ["bad query", fetchRaw(`${api}/api/resources?limit=-1`), 400],
      ["no admin token", fetchRaw(`${api}/api/resources/Web/x/pause`, { method: "POST" }), 401],
      ["admin action", fetchRaw(`${api}/api/resources/Web/nothing.example.com/pause`, { method: "POST", headers: admin }), 404],
      ["no such route", fetchRaw(`${api}/nothing/here`), 404],
      ["wrong method", fetchRaw(`${api}/healthz`, { method: "DELETE" }), 404],
      ["SSE feed", fetchRaw(`${api}/api/feed`, { firstBytesOnly: true }), 200]
    ]
    for (const [what, answer, status] of answers) {
      const { status: actual, headers } = await answer
      expect({ what, status: actual }).toEqual({ what, status })
      expectSecurityHeaders(what, headers)
    }
  })

  it("the ping server's answers carry them too, refusals included", async () => {
    const bearer = { authorization: `Bearer ${token}` }
    for (const [what, answer, status] of [
      ["ping", fetchRaw(`${ingress}/ping/cron.example.com`, { headers: bearer }), 200],
      ["unknown token", fetchRaw(`${ingress}/ping/cron.example.com`, { headers: { authorization: "Bearer wrong" } }), 401],
      ["no such route", fetchRaw(`${ingress}/api/resources`), 404]
    ] as const) {
      const { status: actual, headers } = await answer
      expect({ what, status: actual }).toEqual({ what, status })
      expectSecurityHeaders(what, headers)
    }
  })

  it("a malformed request is answered 400 by the server itself, with the same headers", async () => {
    const text = await rawAnswer(apiPort, "NOT HTTP AT ALL\r\n\r\n")
    const [statusLine, ...lines] = text.split("\r\n")
    expect(statusLine).toBe("HTTP/1.1 400 Bad Request")
    const headers = Object.fromEntries(lines.filter((l) => l.includes(": ")).map((l) => [l.slice(0, l.indexOf(": ")).toLowerCase(), l.slice(l.indexOf(": ") + 2)]))
    expectSecurityHeaders("malformed", headers)
  })

  it("a body over the bound is refused with 413 unread, on both servers, and counted", async () => {
    const big = "x".repeat(httpRequestLimits.maxBodyBytes + 1)
    const onApi = await fetchRaw(`${api}/api/resources/Web/db1.example.com/pause`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "text/plain" },
      body: big
    })
    expect(onApi.status).toBe(413)
    expect(JSON.parse(onApi.body)).toEqual({ error: `request bodies are limited to ${httpRequestLimits.maxBodyBytes} bytes` })
    expectSecurityHeaders("413", onApi.headers)
    const onIngress = await fetchRaw(`${ingress}/ping/cron.example.com`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: big })
    expect(onIngress.status).toBe(413)
    // The refused action did not run.
    const resource = JSON.parse((await fetchRaw(`${api}/api/resources/Web/db1.example.com`)).body)
    expect(resource.status).toBe("alive")
    const metrics = parsePrometheus((await fetchRaw(`${api}/metrics`)).body)
    expect(metrics.get('heartbeat_mesh_http_requests_refused_total{server="api",reason="body_too_large"}')).toBe(1)
    expect(metrics.get('heartbeat_mesh_http_requests_refused_total{server="ingress",reason="body_too_large"}')).toBe(1)
  })

  it("a WebSocket message over 64 KiB closes that connection (1009) instead of being buffered", async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${apiPort}/api/feed/ws`)
    await new Promise((resolve, reject) => {
      socket.once("open", resolve)
      socket.once("error", reject)
    })
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)))
    socket.send("x".repeat(64 * 1024 + 1))
    expect(await closed).toBe(1009)
    // The server is fine: the next request is answered.
    expect((await fetchRaw(`${api}/healthz`)).status).toBe(200)
  })

  it(`at most ${httpRequestLimits.maxSseClients} SSE clients: the next is refused with 503 and counted; a closed one makes room`, async () => {
    const followers = await Promise.all(Array.from({ length: httpRequestLimits.maxSseClients }, () => followFeed(`${api}/api/feed`)))
    expect(followers.every((follower) => follower.status === 200)).toBe(true)
    const refused = await fetchRaw(`${api}/api/feed`)
    expect(refused.status).toBe(503)
    expect(JSON.parse(refused.body)).toEqual({ error: `the feed has ${httpRequestLimits.maxSseClients} SSE clients already` })
    expectSecurityHeaders("503", refused.headers)
    const metrics = parsePrometheus((await fetchRaw(`${api}/metrics`)).body)
    expect(metrics.get("heartbeat_mesh_feed_sse_refused_total")).toBe(1)
    followers[0]!.close()
    const next = await waitForAsync("room for one more", async () => {
      const follower = await followFeed(`${api}/api/feed`).catch(() => undefined)
      if (follower?.status === 200) return follower
      follower?.close()
      return undefined
    })
    for (const follower of [next, ...followers.slice(1)]) follower.close()
  })
})
