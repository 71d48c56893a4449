import { afterEach, describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { makeWorkspace, pushTo, type RunningDaemon, startDaemon, waitFor } from "./support/daemonProcess.ts"
import { prng } from "./support/ingressClients.ts"

const config = `
enabled: true
notify_devilry_sleep: 0
grace_period: 0
clients:
  Fuzz:
    token: fuzz-token-0123456789
    timeout: 10
`
const token = "fuzz-token-0123456789"

let daemon: RunningDaemon | undefined
afterEach(async () => {
  await daemon?.stop("SIGKILL")
  daemon = undefined
})

const deep = (levels: number): unknown => (levels === 0 ? 1 : { d: deep(levels - 1) })

const hostileNames = [
  "../../etc/passwd",
  "..",
  ".",
  "a/b/c",
  "/absolute",
  "name with spaces",
  "under_score.example.com",
  "under.score_example.com",
  "x".repeat(500),
  "ünïcödé.example.com",
  "host1.example.com:service",
  "💥"
]

describe("receiver daemon under malformed input", () => {
  it("10,000 malformed frames interleaved with valid heartbeats: it stays up and accounts for every valid one", async () => {
    const workspace = makeWorkspace(config)
    daemon = await startDaemon(workspace)
    const push = pushTo(daemon.port)
    const random = prng(42)
    const valid = JSON.stringify({ token, resource: "valid.example.com", payload: { uptime: 1 } })
    const malformed: Array<() => string | Buffer | Array<string>> = [
      () => Buffer.from(Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256))),
      () => valid.slice(0, Math.floor(random() * (valid.length - 1))),
      () => JSON.stringify({ token: 12345, resource: "r" }),
      () => JSON.stringify({ token, resource: ["r"] }),
      // (A junk timeout or deregister no longer drops a heartbeat: test/compat.wire.test.ts.)
      () => JSON.stringify({ token, resource: "lone\ud800surrogate" }),
      () => JSON.stringify({ token, resource: "bidi\u202eoverride" }),
      () => JSON.stringify({ token, resource: "r", payload: [1, 2] }),
      () => JSON.stringify({ token, resource: "r", payload: deep(40) }),
      () => JSON.stringify({ token, resource: "" }),
      () => JSON.stringify({ token, resource: "nul\u0000byte" }),
      () => JSON.stringify({ token, resource: "x".repeat(513) }),
      () => JSON.stringify({ token, resource: "big", payload: { blob: "y".repeat(70_000) } }),
      () => JSON.stringify({ resource: "no-token" }),
      () => JSON.stringify({ token: "wrong-token", resource: "r" }),
      () => JSON.stringify([token, "r"]),
      () => "null",
      () => "42",
      () => "",
      () => [valid, valid]
    ]
    let validSent = 0
    const expectedPerResource = new Map<string, number>()
    for (let i = 0; i < 10_000; i++) {
      await push.send(malformed[Math.floor(random() * malformed.length)]!())
      if (i % 10 === 0) {
        const resource = random() < 0.3
          ? hostileNames[Math.floor(random() * hostileNames.length)]!
          : `host${Math.floor(random() * 50)}.example.com`
        await push.heartbeat(token, resource, { payload: { i } })
        validSent++
        expectedPerResource.set(resource, (expectedPerResource.get(resource) ?? 0) + 1)
      }
    }
    push.close()
    expect(validSent).toBe(1000)
    expect(daemon.process.exitCode).toBeNull()
    // Every valid heartbeat is in some history file: one line each, no more, no less.
    const historyDir = join(workspace.stateDir, "heartbeats/history/fuzz")
    const countLines = () =>
      readdirSync(historyDir).reduce(
        (sum, file) => sum + readFileSync(join(historyDir, file), "utf8").trim().split("\n").length,
        0
      )
    await waitFor("all valid heartbeats in history files", () => {
      try {
        return countLines() === validSent ? true : undefined
      } catch {
        return undefined
      }
    })
    // Distinct resources never share a file, and none escaped its folder.
    expect(readdirSync(historyDir)).toHaveLength(expectedPerResource.size)
    expect(readdirSync(join(workspace.stateDir, "heartbeats"))).toEqual(["current", "history"])
    for (const [resource, count] of expectedPerResource) {
      const file = readdirSync(historyDir).find((name) =>
        JSON.parse(readFileSync(join(historyDir, name), "utf8").split("\n")[0]!).resource === resource
      )
      expect(file, resource).toBeDefined()
      const lines = readFileSync(join(historyDir, file!), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      expect(lines.every((line) => line.resource === resource), resource).toBe(true)
      expect(lines).toHaveLength(count)
    }
    await daemon.stop("SIGTERM")
    const totals = daemon.stderr().split("\n").find((line) => line.includes("heartbeat socket closed"))
    expect(totals).toContain("received=11000")
    expect(totals).toContain("accepted=1000")
    expect(daemon.stderr()).not.toContain(token)
  })
})
