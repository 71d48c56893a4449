import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { request } from "node:http"
import { brotliDecompressSync, gunzipSync } from "node:zlib"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { naturalCompare } from "../src/support/naturalOrder.ts"
import { feedReader, waitForTotal } from "./support/httpReads.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon } from "./support/daemonProcess.ts"

// The resource list over real HTTP (issue 17): paging, filters, search, counts, ETag, compression,
// the streamed export. 3,000 resources in three clients, a few configured and never heard.
const resources = 3000

describe("resource list API (daemon process)", () => {
  let daemon: RunningDaemon
  let base: string
  const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers })
  const json = (path: string): Promise<any> => get(path).then((r) => r.json())
  // Test code reads the API's JSON loosely.
  const body = (response: Response): Promise<any> => response.json()

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    const workspace = makeWorkspace(`
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Web:
    token: web-token
    timeout: 60
    resources:
      shop10: {service: shop, environment: prod, location: Paris}
      shop9: {service: shop, environment: staging, location: Berlin}
  Db:
    token: db-token
    timeout: 60
  Batch:
    token: batch-token
    timeout: 60
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: admin-secret
`)
    daemon = await startDaemon(workspace, ["--notifier", "stdout"])
    const push = pushTo(daemon.port)
    for (let i = 0; i < resources; i++) {
      const client = ["web", "db", "batch"][i % 3]!
      await push.heartbeat(`${client}-token`, `${client}${i}.${i % 2 === 0 ? "eu" : "us"}.example.com`)
    }
    await waitForTotal(base, resources + 2)
    push.close()
    await fetch(`${base}/api/resources/Db/db1.us.example.com/pause`, { method: "POST", headers: { authorization: "Bearer admin-secret" } })
  })
  afterAll(async () => {
    await daemon?.stop("SIGKILL")
  })

  it("pages: problems first, natural order, exact totals and counts, a cursor to the next page", async () => {
    const response = await get("/api/resources?limit=4")
    expect(response.headers.get("x-total-count")).toBe(String(resources + 2))
    expect(response.headers.get("x-status-counts")).toBe(`stale=0, not_registered=2, paused=1, alive=${resources - 1}, client_removed=0`)
    const first = await response.json() as Array<{ client: string; resource: string; status: string }>
    expect(first.map((r) => `${r.client}/${r.resource}:${r.status}`)).toEqual([
      // shop9 before shop10: natural order.
      "Web/shop9:not_registered",
      "Web/shop10:not_registered",
      "Db/db1.us.example.com:paused",
      "Batch/batch2.eu.example.com:alive"
    ])
    const cursor = response.headers.get("x-next-cursor")!
    expect(response.headers.get("link")).toBe(`</api/resources?limit=4&cursor=${cursor}>; rel="next"`)
    const second = await json(`/api/resources?limit=3&cursor=${cursor}`)
    expect(second.map((r: { resource: string }) => r.resource)).toEqual(["batch5.us.example.com", "batch8.eu.example.com", "batch11.us.example.com"])
    // Following every cursor gives every resource once.
    const seen = new Set<string>()
    let next: string | null = ""
    let pages = 0
    while (next !== null) {
      const page: Response = await get(`/api/resources?limit=700${next === "" ? "" : `&cursor=${next}`}`)
      for (const row of await page.json() as Array<{ client: string; resource: string }>) seen.add(`${row.client}/${row.resource}`)
      next = page.headers.get("x-next-cursor")
      pages++
    }
    expect(seen.size).toBe(resources + 2)
    expect(pages).toBe(5)
  })

  it("filters by status (one or several), client and search words, with totals to match", async () => {
    const filtered = await get("/api/resources?status=paused,not_registered&limit=10")
    expect(filtered.headers.get("x-total-count")).toBe("3")
    expect((await body(filtered)).map((r: { resource: string }) => r.resource)).toEqual(["shop9", "shop10", "db1.us.example.com"])
    const client = await get("/api/resources?client=Db&limit=1")
    expect(client.headers.get("x-total-count")).toBe(String(resources / 3))
    expect(client.headers.get("x-status-counts")).toBe(`stale=0, not_registered=0, paused=1, alive=${resources / 3 - 1}, client_removed=0`)
    // Words: each must appear in a field (any case): name, client, service, environment, location.
    const search = await get("/api/resources?q=PARIS%20shop")
    expect(search.headers.get("x-total-count")).toBe("1")
    expect((await body(search))[0]).toMatchObject({ resource: "shop10", service: "shop", environment: "prod", location: "Paris" })
    const words = await get("/api/resources?q=batch%2099&limit=100")
    const names = (await body(words)).map((r: { resource: string }) => r.resource)
    const batch99 = Array.from({ length: resources }, (_, i) => i)
      .filter((i) => i % 3 === 2 && String(i).includes("99"))
      .map((i) => `batch${i}.${i % 2 === 0 ? "eu" : "us"}.example.com`)
    expect(names).toEqual(batch99.sort(naturalCompare))
    expect(names.slice(0, 3)).toEqual(["batch299.us.example.com", "batch599.us.example.com", "batch899.us.example.com"])
    expect(words.headers.get("x-total-count")).toBe(String(names.length))
    const bad = await get("/api/resources?sort=age")
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: 'sort must be one of status, -lastSeen, lastSeen, got "age"' })
    expect(await json("/api/resources?cursor=bm90LWEtY3Vyc29y")).toEqual({ error: "cursor is not one this receiver gave (pass X-Next-Cursor as it came)" })
  })

  it("sorts by last heartbeat, newest or oldest first", async () => {
    const newest = await json("/api/resources?sort=-lastSeen&limit=2")
    expect(newest.map((r: { resource: string }) => r.resource)).toEqual([`batch${resources - 1}.us.example.com`, `db${resources - 2}.eu.example.com`])
    const oldest = await json("/api/resources?sort=lastSeen&limit=3")
    // Never heard counts as oldest.
    expect(oldest.map((r: { resource: string }) => r.resource)).toEqual(["shop10", "shop9", "web0.eu.example.com"])
  })

  it("answers with an ETag (304 when unchanged) and compresses with brotli or gzip", async () => {
    const page = "/api/resources?client=Web&limit=500"
    const plain = await rawGet(page, {})
    expect(plain.headers["etag"]).toMatch(/^W\/"[\w-]{22}"$/)
    expect(plain.headers["cache-control"]).toBe("private, no-cache")
    const body = plain.body.toString("utf8")
    expect(JSON.parse(body)).toHaveLength(500)
    const again = await rawGet(page, { "if-none-match": plain.headers["etag"] as string })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    const br = await rawGet(page, { "accept-encoding": "br, gzip" })
    expect(br.headers["content-encoding"]).toBe("br")
    expect(brotliDecompressSync(br.body).toString("utf8")).toBe(body)
    expect(br.body.length).toBeLessThan(body.length / 5)
    const gzip = await rawGet(page, { "accept-encoding": "gzip" })
    expect(gzip.headers["content-encoding"]).toBe("gzip")
    expect(gunzipSync(gzip.body).toString("utf8")).toBe(body)
    // The summary and the detail are JSON answers too.
    const summary = await rawGet("/api/summary", {})
    expect((await rawGet("/api/summary", { "if-none-match": summary.headers["etag"] as string })).status).toBe(304)
  })

  it("summarises per status and client", async () => {
    expect(await json("/api/summary")).toEqual({
      total: resources + 2,
      counts: { alive: resources - 1, stale: 0, not_registered: 2, paused: 1, client_removed: 0 },
      clients: [
        { client: "Batch", total: 1000, counts: { alive: 1000, stale: 0, not_registered: 0, paused: 0, client_removed: 0 } },
        { client: "Db", total: 1000, counts: { alive: 999, stale: 0, not_registered: 0, paused: 1, client_removed: 0 } },
        { client: "Web", total: 1002, counts: { alive: 1000, stale: 0, not_registered: 2, paused: 0, client_removed: 0 } }
      ]
    })
  })

  it("streams the whole list as ndjson, filtered, each resource once", async () => {
    const response = await get("/api/resources?format=ndjson")
    expect(response.headers.get("content-type")).toBe("application/x-ndjson")
    const lines = (await response.text()).trimEnd().split("\n").map((line) => JSON.parse(line) as { client: string; resource: string })
    expect(lines).toHaveLength(resources + 2)
    expect(new Set(lines.map((r) => `${r.client}/${r.resource}`)).size).toBe(resources + 2)
    const db = (await (await get("/api/resources?format=ndjson&client=Db&status=paused")).text()).trimEnd().split("\n")
    expect(db.map((line) => JSON.parse(line).resource)).toEqual(["db1.us.example.com"])
  })

  it("feeds status changes without routine heartbeats when asked (/api/feed?heartbeats=0)", async () => {
    const controller = new AbortController()
    const response = await fetch(`${base}/api/feed?heartbeats=0`, { signal: controller.signal })
    const { readUntil, text } = feedReader(response)
    await readUntil("event: ready")
    const push = pushTo(daemon.port)
    // A routine heartbeat (alive stays alive): nothing. A first heartbeat: a resources item.
    await push.heartbeat("db-token", "db4.eu.example.com")
    await push.heartbeat("db-token", "fresh.example.com")
    await readUntil('"resource":"fresh.example.com"')
    // The pause of another resource comes too, as ever.
    await fetch(`${base}/api/resources/Web/web0.eu.example.com/pause`, { method: "POST", headers: { authorization: "Bearer admin-secret" } })
    await readUntil('"resource":"web0.eu.example.com"')
    expect(text()).not.toContain("event: heartbeats")
    expect(text()).not.toContain("db4.eu.example.com")
    expect(text()).toMatch(/event: resources\ndata: \[\{"client":"Db","resource":"fresh\.example\.com","status":"alive",/)
    controller.abort()
    push.close()
    await fetch(`${base}/api/resources/Web/web0.eu.example.com/resume`, { method: "POST", headers: { authorization: "Bearer admin-secret" } })
    await fetch(`${base}/api/resources/Db/fresh.example.com/deregister`, { method: "POST", headers: { authorization: "Bearer admin-secret" } })
  })

  it("the WebSocket feed takes the same choice: subscribe with heartbeats false", async () => {
    const socket = new WebSocket(`${base.replace("http:", "ws:")}/api/feed/ws`)
    const messages: Array<{ event: string; data: any }> = []
    socket.on("message", (data) => messages.push(JSON.parse(String(data))))
    await new Promise((resolve, reject) => {
      socket.once("open", resolve)
      socket.once("error", reject)
    })
    socket.send(JSON.stringify({ type: "subscribe", heartbeats: false }))
    for (let i = 0; i < 100 && !messages.some((m) => m.event === "subscribed"); i++) await new Promise((r) => setTimeout(r, 50))
    expect(messages.find((m) => m.event === "subscribed")?.data).toEqual({ heartbeats: false })
    const push = pushTo(daemon.port)
    await push.heartbeat("db-token", "db7.us.example.com")
    await push.heartbeat("db-token", "fresh2.example.com")
    for (let i = 0; i < 100 && !messages.some((m) => m.event === "resources"); i++) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 1100))
    expect(messages.filter((m) => m.event === "heartbeats")).toEqual([])
    expect(messages.filter((m) => m.event === "resources").flatMap((m) => m.data.map((item: { resource: string }) => item.resource))).toEqual(["fresh2.example.com"])
    socket.close()
    push.close()
    await fetch(`${base}/api/resources/Db/fresh2.example.com/deregister`, { method: "POST", headers: { authorization: "Bearer admin-secret" } })
  })

  /** A GET through node:http, which leaves the body as it came (fetch would decompress it). */
  const rawGet = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: Record<string, string | Array<string> | undefined>; body: Buffer }>((resolve, reject) => {
      const req = request(base + path, { headers }, (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }))
      })
      req.on("error", reject)
      req.end()
    })
})
