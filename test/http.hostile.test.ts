import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { MonitorMoment } from "../src/monitor/MonitorMoment.ts"
import { formerClientProfile } from "../src/monitor/ResourceProfile.ts"
import { neverHeard } from "../src/monitor/resourceRules.ts"
import { viewOf } from "../src/http/resourceView.ts"
import { defaultTiming } from "../src/config/timing.ts"
import { migrations } from "../src/store/sqliteStateStore.ts"
import { freePort, makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitForAsync } from "./support/daemonProcess.ts"

const adminToken = "hostile-admin"
const token = "hostile-token"

let nested: Record<string, unknown> = { leaf: 1 }
for (let i = 0; i < 30; i++) nested = { n: nested }

// Names that are valid but awkward in a URL, a file name or a page.
const awkwardNames = [
  "a/b/../c",
  "100% done?#frag",
  "space and + plus",
  "ünïcödé-名前",
  "<script>alert(1)</script>",
  "x".repeat(512),
  ".."
]
// Payloads that are valid JSON objects and hard on whoever shows them.
const awkwardPayloads: ReadonlyArray<Record<string, unknown>> = [
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}'),
  { toString: "not a function", valueOf: 3, hasOwnProperty: null },
  nested,
  { big: 1e308, small: -1e-308, negativeZero: -0, list: Array.from({ length: 900 }, (_, i) => i) },
  { text: "\u202e reversed \u0000 nul \ud83d\ude00" }
]

const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`

/** Rows as an older release, a bug or a hand edit could have left them. */
const hostileRows = (now: number) => [
  `('Hostile', 'huge-timeout', ${now - 5000}, ${now - 1000}, 1e12, NULL, 'alive', 0)`,
  `('Hostile', 'infinite-timeout', ${now - 5000}, ${now - 1000}, 1e308, NULL, 'alive', 0)`,
  `('Hostile', 'far-future', ${now - 5000}, 1e300, NULL, NULL, 'alive', 0)`,
  `('Hostile', 'ancient', -8e15, -8e15, NULL, NULL, 'stale', 0)`,
  `('Hostile', 'text-times', 'soon', 'never', 'five', '{"a":1}', 'weird status', 'yes')`,
  `('Hostile', 'paused-never-heard', NULL, NULL, NULL, NULL, 'paused', 1)`,
  `('Hostile', 'payload-not-json', ${now}, ${now}, NULL, '{{{', 'alive', 0)`,
  `('Gone', 'removed-client', ${now}, ${now}, NULL, NULL, 'alive', 0)`,
  `(x'ff', 'blob-client', ${now}, ${now}, NULL, NULL, 'alive', 0)`,
  ...awkwardNames.map((name) => `('Hostile', ${sqlText(name)}, ${now - 5000}, ${now - 1000}, NULL, ${sqlText(JSON.stringify(awkwardPayloads[0]))}, 'alive', 0)`)
]

const config = (httpPort: number) => `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 0
clients:
  Hostile:
    token: ${token}
    timeout: 1
    resources:
      configured.example.com: {}
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: ${adminToken}
`

describe("no API route answers 500, whatever is stored or received (issue 13.2)", () => {
  let daemon: RunningDaemon
  let base: string

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    const workspace = makeWorkspace(config(httpPort))
    mkdirSync(workspace.stateDir, { recursive: true })
    const db = new DatabaseSync(join(workspace.stateDir, "state.db"))
    migrations.forEach((migration) => db.exec(migration))
    db.exec(`PRAGMA user_version = ${migrations.length}`)
    for (const values of hostileRows(Date.now())) {
      db.exec(`INSERT INTO resources (client, resource, first_seen_ms, last_seen_ms, timeout_override_minutes, payload, status, paused) VALUES ${values}`)
    }
    db.close()
    daemon = await startDaemon(workspace)
    // And the same kinds of values received on the wire.
    const push = pushTo(daemon.port)
    for (const [i, payload] of awkwardPayloads.entries()) await push.heartbeat(token, `wire-payload-${i}`, { payload })
    for (const name of awkwardNames) await push.heartbeat(token, `wire-${name}`.slice(0, 512), { payload: awkwardPayloads[1] })
    await push.heartbeat(token, "wire-huge-timeout", { timeout: 1e12 })
    await push.heartbeat(token, "wire-tiny-timeout", { timeout: 1e-9 })
    await push.heartbeat(token, "wire-max-timeout", { timeout: Number.MAX_VALUE })
    push.close()
    await waitForAsync("the wire's resources listed", async () => {
      const list = await (await fetch(`${base}/api/resources?client=Hostile`)).json() as Array<{ resource: string }>
      return list.some((r) => r.resource === "wire-max-timeout") ? true : undefined
    })
  })
  afterAll(async () => {
    await daemon?.stop("SIGKILL")
  })

  it("every route, for every resource, answers without a server error", async () => {
    const answers: Array<[string, number]> = []
    const call = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(base + path, init)
      const body = await response.text()
      answers.push([`${init.method ?? "GET"} ${path}`, response.status])
      if (response.headers.get("content-type")?.includes("json") === true) {
        try {
          JSON.parse(body)
        } catch {
          throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} with broken JSON: ${body.slice(0, 200)}`)
        }
      }
      return body
    }
    for (const path of ["/", "/app.js", "/style.css", "/healthz", "/readyz", "/metrics", "/api/openapi.json", "/api/events", "/api/events?limit=1000", "/nope"]) {
      await call(path)
    }
    for (const status of ["alive", "stale", "not_registered", "paused", "bogus"]) await call(`/api/resources?status=${status}`)
    const list = JSON.parse(await call("/api/resources")) as Array<{ client: string; resource: string; deadline: string | null }>
    expect(list.length).toBeGreaterThanOrEqual(20)
    for (const { client, resource } of list) {
      const path = `/api/resources/${encodeURIComponent(client)}/${encodeURIComponent(resource)}`
      const body = await call(path)
      const detail = body === "" ? { problem: `empty answer for ${path}: ${answers.at(-1)?.[1]}` } : JSON.parse(body)
      // A URL cannot name a resource called "." or ".." (fetch, like browsers, resolves the segment).
      if (resource !== "..") expect(detail.resource, JSON.stringify(detail) + " " + answers.at(-1)).toBe(resource)
      await call(`/api/events?client=${encodeURIComponent(client)}&resource=${encodeURIComponent(resource)}`)
      if (resource !== "..") {
        await call(`${path}/history`)
        await call(`${path}/uptime`)
      }
      for (const action of ["pause", "resume"]) {
        await call(`${path}/${action}`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } })
      }
    }
    const feed = await fetch(`${base}/api/feed`)
    answers.push(["GET /api/feed", feed.status])
    await feed.body?.cancel()
    for (const { client, resource } of list) {
      await call(`/api/resources/${encodeURIComponent(client)}/${encodeURIComponent(resource)}/deregister`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}` }
      })
    }
    expect(answers.filter(([, status]) => status >= 500)).toEqual([])
    expect(answers.filter(([what, status]) => what.startsWith("GET /api/resources/") && !what.endsWith("/..") && status !== 200)).toEqual([])
    expect(daemon.process.exitCode).toBeNull()
  })
})

describe("the view of a resource is total", () => {
  const moment: MonitorMoment = {
    nowMs: 1_000_000,
    timing: defaultTiming,
    graceEndsMs: 0,
    lastHeartbeatAnywhereMs: 1_000_000,
    receiver: { name: "r", origin: "o" }
  }
  it("shows null, never throws, for times and timeouts out of any range", () => {
    const profile = formerClientProfile("Client1", "host")
    for (const [lastSeenMs, timeoutOverrideMinutes] of [[1e300, undefined], [1000, 1e12], [Number.NaN, 1e308], [-Infinity, Number.NaN]] as const) {
      const view = viewOf(profile, { ...neverHeard, firstSeenMs: lastSeenMs, lastSeenMs, timeoutOverrideMinutes }, moment, 0)
      expect(() => JSON.stringify(view)).not.toThrow()
      for (const field of [view.firstSeen, view.lastSeen, view.deadline]) {
        expect(field === null || !Number.isNaN(Date.parse(field))).toBe(true)
      }
    }
    expect(viewOf(profile, { ...neverHeard, lastSeenMs: 1000, timeoutOverrideMinutes: 1e12 }, moment, 0).deadline).toBeNull()
    expect(viewOf(profile, { ...neverHeard, lastSeenMs: 1000, timeoutOverrideMinutes: 1e308 }, moment, 0).timeoutSeconds).toBeNull()
  })
})
