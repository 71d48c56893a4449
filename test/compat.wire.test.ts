import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Pull } from "zeromq"
import type { Notification } from "../src/domain/Notification.ts"
import { freePort, makeWorkspace, pushTo, runCli, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"

// The wire as the deployed senders speak it (SPEC 1 and 6, issue 14.3), and the bounds of issue 13
// (payload size, names), against the real daemon over real ZeroMQ. Heartbeat files are checked
// byte for byte against what the deployed receiver's json.dump wrote (issue 14.4).

// Short timings: client timeout 0.05 min = 3 s, jitter 1 s.
const configWith = (httpPort: number) => `
enabled: true
notify_devilry_sleep: 0
check_interval: 1
timeout_jitter: 1
grace_period: 0
rare_check_interval: 3600
receiver_name: rx-compat
clients:
  Numeric:
    token: 12345678901234567890
    timeout: 0.05
  Octal:
    token: 0123
    timeout: 60
  Acme.Corp:
    token: acme-token
    timeout: 0.05
http:
  listen: "127.0.0.1:${httpPort}"
  admin_token: admin-secret
`

const parsePrometheus = (text: string) => {
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (match !== null) samples.set(match[1]!, Number(match[2]))
  }
  return samples
}

// Test code reads the API's JSON loosely.
const json = (response: Promise<Response>): Promise<any> => response.then((r) => r.json())

describe("the deployed wire, against the real daemon", () => {
  let daemon: RunningDaemon
  let workspace: ReturnType<typeof makeWorkspace>
  let push: ReturnType<typeof pushTo>
  let base: string
  let keeper: ReturnType<typeof setInterval>
  const notified = (event: string, resource: string) =>
    workspace.notifications().find((n) => n.event === `heartbeat_mesh_${event}` && n.resource === resource)
  const waitNotified = (event: string, resource: string) =>
    waitFor(`${event} for ${resource}`, () => notified(event, resource))
  const metrics = async () => parsePrometheus(await (await fetch(`${base}/metrics`)).text())
  const listed = async (client: string, resource: string) =>
    (await json(fetch(`${base}/api/resources`))).find((r: any) => r.client === client && r.resource === resource)
  const waitListed = async (client: string, resource: string) => {
    const started = Date.now()
    for (;;) {
      const found = await listed(client, resource)
      if (found !== undefined) return found
      if (Date.now() - started > 20_000) throw new Error(`${resource} never listed`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  beforeAll(async () => {
    const httpPort = await freePort()
    base = `http://127.0.0.1:${httpPort}`
    workspace = makeWorkspace(configWith(httpPort))
    daemon = await startDaemon(workspace)
    push = pushTo(daemon.port)
    // Keeps the receiver active, so that timeouts are not held back (storm suppression).
    keeper = setInterval(() => void push.heartbeat("acme-token", "keeper"), 300)
  })

  afterAll(async () => {
    clearInterval(keeper)
    push.close()
    await daemon.stop("SIGKILL")
  })

  describe("tokens", () => {
    it("an all-digit token sent as a JSON number is compared by its digits, beyond what a float holds", async () => {
      await push.send('{"token": 12345678901234567890, "resource": "num.example.com"}')
      expect(await waitNotified("heartbeat_new", "num.example.com")).toMatchObject({ client: "Numeric" })
      // 12345678901234567891 is the same float as ...890: refused, since its digits differ.
      await push.send('{"token": 12345678901234567891, "resource": "num-off-by-one"}')
      await push.send('{"token": "12345678901234567890", "resource": "num-as-text"}')
      expect(await waitNotified("heartbeat_new", "num-as-text")).toMatchObject({ client: "Numeric" })
      expect(notified("heartbeat_new", "num-off-by-one")).toBeUndefined()
    })

    it("token: 0123 (octal 83 to PyYAML) takes the deployed sender's number 83 and the text 0123, not the text 83", async () => {
      await push.send('{"token": 83, "resource": "octal-number"}')
      await push.send('{"token": "0123", "resource": "octal-text"}')
      await push.send('{"token": "83", "resource": "octal-wrong"}')
      expect(await waitNotified("heartbeat_new", "octal-number")).toMatchObject({ client: "Octal" })
      expect(await waitNotified("heartbeat_new", "octal-text")).toMatchObject({ client: "Octal" })
      expect(notified("heartbeat_new", "octal-wrong")).toBeUndefined()
    })

    it("our sender sends an unquoted all-digit token as a JSON number, and the receiver takes it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "hbm-compat-sender-"))
      const config = join(dir, "sender.yaml")
      // A PULL socket of our own sees the frame as sent; the daemon sees the same sender.
      const port = await freePort()
      const pull = new Pull({ receiveTimeout: 15_000 })
      await pull.bind(`tcp://127.0.0.1:${port}`)
      try {
        writeFileSync(config, [
          "enabled: yes",
          "tmp_file_check: no",
          "receivers:",
          `  127.0.0.1: {port: ${daemon.port}, token: 12345678901234567890, resource: from-our-sender, uptime_payload: off}`,
          `  localhost: {port: ${port}, token: 12345678901234567890, resource: raw-check, uptime_payload: off}`
        ].join("\n"))
        const run = await runCli(["sender", "--config", config])
        expect(run.code).toBe(0)
        const [frame] = await pull.receive()
        expect(frame!.toString()).toBe('{"token":12345678901234567890,"resource":"raw-check","payload":{}}')
      } finally {
        pull.close()
      }
      expect(await waitNotified("heartbeat_new", "from-our-sender")).toMatchObject({ client: "Numeric" })
    })
  })

  describe("timeouts: never a reason to drop a heartbeat", () => {
    it("a numeric string is used; 0, junk and out-of-range values fall back to the client's default", async () => {
      await push.send('{"token": "acme-token", "resource": "t-string", "timeout": "0.1"}')
      await push.send('{"token": "acme-token", "resource": "t-zero", "timeout": 0}')
      await push.send('{"token": "acme-token", "resource": "t-junk", "timeout": "soon"}')
      await push.send('{"token": "acme-token", "resource": "t-huge", "timeout": 1e12}')
      await push.send('{"token": "acme-token", "resource": "t-negative", "timeout": -5}')
      // The timeout in use is in the timeout event: 0.1 min = 6 s; the client's 0.05 min = 3 s.
      expect((await waitNotified("heartbeat_timeout", "t-string")).attributes?.timeout).toBe(6)
      for (const resource of ["t-zero", "t-junk", "t-huge", "t-negative"]) {
        expect((await waitNotified("heartbeat_timeout", resource)).attributes?.timeout).toBe(3)
      }
      // A stored 1e12 can no longer break the API.
      const response = await fetch(`${base}/api/resources`)
      expect(response.status).toBe(200)
      const samples = await metrics()
      expect(samples.get('heartbeat_mesh_heartbeats_repaired_total{reason="timeout_out_of_range"}')).toBe(3)
      expect(samples.get('heartbeat_mesh_heartbeats_repaired_total{reason="timeout_not_numeric"}')).toBe(1)
      expect(daemon.stderr()).toMatch(/msg="heartbeat taken with a repair" reason=timeout_/)
      // Quiet again: their repeated timeouts would only slow the notifications the next tests wait for.
      for (const resource of ["t-string", "t-zero", "t-junk", "t-huge", "t-negative"]) {
        await push.send(`{"token": "acme-token", "resource": "${resource}", "deregister": true}`)
      }
    }, 30_000)
  })

  describe("deregister", () => {
    it.each([["true", "d-true"], ["1", "d-one"], ['"yes"', "d-yes"], ['"true"', "d-true-text"], ['"YES"', "d-yes-upper"]])(
      "%s deregisters",
      async (value, resource) => {
        await push.heartbeat("acme-token", resource)
        await waitNotified("heartbeat_new", resource)
        await push.send(`{"token": "acme-token", "resource": "${resource}", "deregister": ${value}}`)
        expect(await waitNotified("heartbeat_deregistered", resource)).toMatchObject({ client: "Acme.Corp", value: "deregistered" })
      }
    )

    it.each([["false", "k-false"], ["0", "k-zero"], ['"no"', "k-no"], ['"false"', "k-false-text"], ['"maybe"', "k-maybe"], ["null", "k-null"]])(
      "%s does not deregister: the heartbeat counts as a heartbeat",
      async (value, resource) => {
        await push.send(`{"token": "acme-token", "resource": "${resource}", "deregister": ${value}}`)
        await waitNotified("heartbeat_new", resource)
        await push.heartbeat("acme-token", `${resource}-after`)
        await waitNotified("heartbeat_new", `${resource}-after`)
        expect(notified("heartbeat_deregistered", resource)).toBeUndefined()
        expect(await listed("Acme.Corp", resource)).toBeDefined()
      }
    )

    it("an unrecognised value is counted", async () => {
      await waitFor("the k-maybe heartbeat", () => notified("heartbeat_new", "k-maybe"))
      expect((await metrics()).get('heartbeat_mesh_heartbeats_repaired_total{reason="deregister_unrecognised"}')).toBe(1)
    })
  })

  describe("payload: null is kept as null", () => {
    it("in the API, the heartbeat file and state.db", async () => {
      await push.send('{"token": "acme-token", "resource": "p-null", "payload": null}')
      const current = join(workspace.stateDir, "heartbeats/current/acme.corp/p-null.json")
      const text = await waitFor("the current file", () => (existsSync(current) ? readFileSync(current, "utf8") : undefined))
      expect(text).toMatch(/^\{"utc": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "resource": "p-null", "payload": null, "timeout": null\}$/)
      const detail = await json(fetch(`${base}/api/resources/Acme.Corp/p-null`))
      expect(detail.payload).toBeNull()
    })
  })

  describe("bounds (issue 13.1, 13.8): rejected, counted, and nothing else lost", () => {
    const nested = (depth: number): unknown => (depth <= 1 ? { leaf: 1 } : { next: nested(depth - 1) })
    const wide = (keys: number) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]))

    it("each hostile frame has its reason; a valid heartbeat after them is recorded", async () => {
      const before = await metrics()
      const rejected = (reason: string) => before.get(`heartbeat_mesh_heartbeats_rejected_total{reason="${reason}"}`) ?? 0
      await push.send('{"token": "acme-token", "resource": "half\\ud800"}')
      await push.send(Buffer.concat([Buffer.from('{"token": "acme-token", "resource": "bad'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]))
      await push.send('{"token": "acme-token", "resource": "evil\\u202eexe.txt"}')
      await push.send('{"token": "acme-token", "resource": "isolate\\u2066x"}')
      await push.send(JSON.stringify({ token: "acme-token", resource: "too-deep", payload: nested(33) }))
      await push.send(JSON.stringify({ token: "acme-token", resource: "too-wide", payload: wide(1001) }))
      // At the bounds: accepted.
      await push.send(JSON.stringify({ token: "acme-token", resource: "deep-32", payload: nested(32) }))
      await push.send(JSON.stringify({ token: "acme-token", resource: "wide-1000", payload: wide(1000) }))
      await push.heartbeat("acme-token", "after-hostile")
      await waitListed("Acme.Corp", "after-hostile")
      expect(await listed("Acme.Corp", "deep-32")).toBeDefined()
      expect(await listed("Acme.Corp", "wide-1000")).toBeDefined()
      const after = await metrics()
      const grew = (reason: string) => after.get(`heartbeat_mesh_heartbeats_rejected_total{reason="${reason}"}`)! - rejected(reason)
      expect(["lone_surrogate", "invalid_utf8", "forbidden_character", "payload_too_deep", "payload_too_large"].map(grew))
        .toEqual([1, 1, 2, 1, 1])
      // The accepted 32-deep payload is served and written like any other.
      const detail = await json(fetch(`${base}/api/resources/Acme.Corp/deep-32`))
      expect(JSON.stringify(detail.payload)).toBe(JSON.stringify(nested(32)))
    })
  })

  describe("heartbeat files as the deployed receiver wrote them", () => {
    const dir = (kind: "current" | "history") => join(workspace.stateDir, "heartbeats", kind, "acme.corp")
    const read = (kind: "current" | "history", file: string) => readFileSync(join(dir(kind), file), "utf8")

    it("client folder lower-cased with its dots; spaces and dots to _; json.dumps formatting; no token", async () => {
      const payload = '{"uptime": 42, "load": 0.00001, "ratio": 2.5e-7, "name": "Z\\u00fcrich \\u2603", "nested": {"list": [1, "two", null, true, 1.5]}}'
      await push.send(`{"token": "acme-token", "resource": "web 1.example.com", "timeout": 0.5, "payload": ${payload}}`)
      await push.send('{"token": "acme-token", "resource": "web 1.example.com", "payload": {"uptime": 43}}')
      await push.send('{"token": "acme-token", "resource": "db_1.example.com", "timeout": "2"}')
      const history = join(dir("history"), "web_1_example_com.json")
      await waitFor("two history lines", () =>
        existsSync(history) && read("history", "web_1_example_com.json").split("\n").length === 3 ? true : undefined)
      const lines = read("history", "web_1_example_com.json")
      const stamps = [...lines.matchAll(/"utc": "([^"]+)"/g)].map((m) => m[1])
      expect(lines).toBe(
        `{"utc": "${stamps[0]}", "resource": "web 1.example.com", "payload": {"uptime": 42, "load": 1e-05, "ratio": 2.5e-07, ` +
          `"name": "Z\\u00fcrich \\u2603", "nested": {"list": [1, "two", null, true, 1.5]}}, "timeout": 0.5}\n` +
          `{"utc": "${stamps[1]}", "resource": "web 1.example.com", "payload": {"uptime": 43}, "timeout": null}\n`
      )
      // The current file: the last line, without a newline (json.dump alone).
      expect(read("current", "web_1_example_com.json")).toBe(
        `{"utc": "${stamps[1]}", "resource": "web 1.example.com", "payload": {"uptime": 43}, "timeout": null}`
      )
      await waitFor("db_1 file", () => (existsSync(join(dir("current"), "db_1_example_com.json")) ? true : undefined))
      expect(read("current", "db_1_example_com.json")).toMatch(/, "resource": "db_1\.example\.com", "payload": null, "timeout": 2\}$/)
      expect(lines).not.toContain("acme-token")
    })

    it("only names that would escape the folder, collide or pass the length limit get the safe name", async () => {
      await push.heartbeat("acme-token", "a.b")
      await waitFor("a.b file", () => (existsSync(join(dir("current"), "a_b.json")) ? true : undefined))
      await push.heartbeat("acme-token", "a_b")
      await push.heartbeat("acme-token", "../escape")
      await push.heartbeat("acme-token", "x".repeat(300))
      await push.heartbeat("acme-token", "after-names")
      await waitFor("after-names file", () => (existsSync(join(dir("current"), "after-names.json")) ? true : undefined))
      const files = readdirSync(dir("current"))
      const safe = files.filter((file) => /~[0-9a-f]{20}\.json$/.test(file)).sort()
      expect(safe).toEqual([
        expect.stringMatching(/^___escape~[0-9a-f]{20}\.json$/),
        expect.stringMatching(/^a_b~[0-9a-f]{20}\.json$/),
        expect.stringMatching(/^x{80}~[0-9a-f]{20}\.json$/)
      ])
      expect(read("current", "a_b.json")).toContain('"resource": "a.b"')
      expect(read("current", safe[1]!)).toContain('"resource": "a_b"')
      expect(readdirSync(join(workspace.stateDir, "heartbeats"))).toEqual(["current", "history"])
    })

    it("state.db keeps a null payload as NULL", async () => {
      await daemon.stop("SIGTERM")
      const db = new DatabaseSync(join(workspace.stateDir, "state.db"), { readOnly: true })
      try {
        const row = db.prepare("SELECT payload FROM resources WHERE resource = ?").get("p-null") as { payload: unknown }
        expect(row.payload).toBeNull()
      } finally {
        db.close()
      }
    })
  })
})
