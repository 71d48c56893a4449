import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ResourceChanges } from "../src/changes/ResourceChanges.ts"
import type { ClientConfig } from "../src/config/ReceiverConfig.ts"
import { defaultTiming } from "../src/config/timing.ts"
import { heartbeatLine } from "../src/files/heartbeatLine.ts"
import { HeartbeatFiles, type HeartbeatFilesOptions, layerHeartbeatFiles, maxPendingLinesPerResource } from "../src/files/HeartbeatFiles.ts"
import type { MonitorMoment } from "../src/monitor/MonitorMoment.ts"
import { profileFor, resourceKey } from "../src/monitor/ResourceProfile.ts"
import { deregister, neverHeard, receiveHeartbeat } from "../src/monitor/resourceRules.ts"
import { safeName } from "../src/files/fileNames.ts"
import { mkdirSync } from "node:fs"

const client: ClientConfig = { name: "Client1", token: "never-written", timeoutMinutes: 1, resources: new Map() }
const momentAt = (nowMs: number): MonitorMoment => ({
  nowMs,
  timing: defaultTiming,
  graceEndsMs: 0,
  lastHeartbeatAnywhereMs: nowMs,
  receiver: { name: "receiver.test", origin: "heartbeat_mesh/receiver" }
})
const t0 = Date.UTC(2026, 10, 21, 12, 0, 0)

/** Publishes the change an actor publishes for a heartbeat of `resource` at `nowMs`. */
const heartbeat = (resource: string, nowMs: number, payload: Record<string, unknown> | undefined, timeoutMinutes?: number) =>
  Effect.gen(function*() {
    const changes = yield* ResourceChanges
    const profile = profileFor(client, resource)
    const moment = momentAt(nowMs)
    const transition = receiveHeartbeat(neverHeard, profile, { resource, timeoutMinutes, payload }, moment)
    changes.publish({ cause: "heartbeat", key: resourceKey(client.name, resource), profile, before: neverHeard, after: transition.state, notifications: [], moment })
  })

/** Publishes a deregistration of `resource` at `nowMs`. */
const deregistered = (resource: string, nowMs: number) =>
  Effect.gen(function*() {
    const changes = yield* ResourceChanges
    const profile = profileFor(client, resource)
    const moment = momentAt(nowMs)
    const transition = deregister(profile, moment)
    changes.publish({ cause: "deregister", key: resourceKey(client.name, resource), profile, before: neverHeard, after: undefined, notifications: transition.notifications, moment })
  })

const filesLayer = (options: Omit<HeartbeatFilesOptions, "flushIntervalMs">) =>
  layerHeartbeatFiles({ flushIntervalMs: 3_600_000, ...options }).pipe(Layer.provideMerge(ResourceChanges.layer))

/** The history line (json.dumps, compat's heartbeatLine, and a newline) and the current file (the line alone). */
const lineOf = (nowMs: number, payload: Record<string, unknown>) => heartbeatLine("host1.example.com", nowMs, payload, null) + "\n"
const currentOf = (nowMs: number, payload: Record<string, unknown>) => heartbeatLine("host1.example.com", nowMs, payload, null)

describe("heartbeat files: the writer thread", () => {
  const directory = () => mkdtempSync(join(tmpdir(), "hbm-files-writer-"))

  it.live("rotates a history file before an append would take it past history_max_bytes, keeping history_keep copies", () => {
    const dir = directory()
    const history = join(dir, "history/client1/host1_example_com.json")
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      // Each line is 108 bytes: 3 fit under 350 bytes, the 4th starts a new file.
      const payload = (n: number) => ({ n: String(n).padStart(5, "0") })
      assert.strictEqual(lineOf(t0, payload(1)).length, 108)
      for (let n = 1; n <= 11; n++) {
        yield* heartbeat("host1.example.com", t0 + n * 1000, payload(n))
        yield* files.flush
      }
      const numbers = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line).payload.n)
      assert.deepStrictEqual(numbers(history), ["00010", "00011"])
      assert.deepStrictEqual(numbers(`${history}.1`), ["00007", "00008", "00009"])
      assert.deepStrictEqual(numbers(`${history}.2`), ["00004", "00005", "00006"])
      assert.isFalse(existsSync(`${history}.3`), "only history_keep = 2 copies")
      assert.strictEqual(files.counters().rotations, 3)
      assert.isAtMost(statSync(history).size, 350)
      // The current file is not rotated: always the last heartbeat alone.
      assert.strictEqual(readFileSync(join(dir, "current/client1/host1_example_com.json"), "utf8"), currentOf(t0 + 11_000, payload(11)))
    }).pipe(Effect.provide(filesLayer({ directory: dir, historyMaxBytes: 350, historyKeep: 2 })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  // json.dumps' hard cases from compat's tests (test/compat.files.test.ts): the writer's byte-level
  // lines must be exactly what heartbeatLine makes.
  const hardCases: ReadonlyArray<readonly [string, Record<string, unknown> | undefined, number | undefined]> = [
    ["web 1.example.com", { uptime: 42 }, 0.5],
    ["h", undefined, undefined],
    ["hôte.example.com", { a: [1, 2.5, { b: null, c: true }], "ü": [], e: {} }, 5],
    ["😀 ☃ host", { floats: [0.00001, 0.0001, 2.5e-7, 1e16, 1.5e300, 123456789.125, 1234567890123456.7, 0.1 + 0.2, -0, 5e-324] }, undefined],
    ["ints", { n: [42, -7, 9007199254740991, 9007199254740992, 1.5, 0] }, 1440],
    ["strings", { s: "héllo \u2028 \u0000 \u001f \u007f \"q\" \\ / \n\t\r\b\f 😀 \ud800 ☃", "k\u00e9y": "", "2": "whole-number key" }, undefined],
    ["deep", { a: { b: { c: { d: [[[]], {}] } } } }, 0.25]
  ]

  it.live("writes each line byte for byte as heartbeatLine makes it (json.dumps), current without a newline, history with", () => {
    const dir = directory()
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      // Two heartbeats per resource in one batch (the second a second later: another stamp), then one more in the next.
      for (const [resource, payload, timeout] of hardCases) {
        yield* heartbeat(resource, t0 + 999, payload, timeout)
        yield* heartbeat(resource, t0 + 1000, payload, timeout)
      }
      yield* files.flush
      for (const [resource, payload, timeout] of hardCases) yield* heartbeat(resource, t0 + 61_000, payload, timeout)
      yield* files.flush
      for (const [resource, payload, timeout] of hardCases) {
        const file = `${resource.replaceAll(" ", "_").replaceAll(".", "_")}.json`
        const line = (ms: number) => heartbeatLine(resource, ms, payload ?? null, timeout ?? null)
        assert.strictEqual(readFileSync(join(dir, "history/client1", file), "utf8"), [t0 + 999, t0 + 1000, t0 + 61_000].map((ms) => line(ms) + "\n").join(""), resource)
        assert.strictEqual(readFileSync(join(dir, "current/client1", file), "utf8"), line(t0 + 61_000), resource)
      }
      assert.strictEqual(files.counters().writeErrors, 0)
    }).pipe(Effect.provide(filesLayer({ directory: dir })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  it.live("names files as ResourceFileNames decides: first come first served, read back from current files, free again after a deregistration", () => {
    const dir = directory()
    // A current file left by an earlier run says x_y.json belongs to the resource "x_y".
    mkdirSync(join(dir, "current/client1"), { recursive: true })
    writeFileSync(join(dir, "current/client1/x_y.json"), heartbeatLine("x_y", t0, null, null))
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      yield* heartbeat("a.b", t0, { n: 1 })
      yield* heartbeat("a_b", t0, { n: 2 })
      yield* heartbeat("x.y", t0, { n: 3 })
      yield* files.flush
      const current = (file: string) => readFileSync(join(dir, "current/client1", file), "utf8")
      assert.include(current("a_b.json"), `"resource": "a.b"`)
      assert.include(current(`${safeName("a_b")}.json`), `"resource": "a_b"`)
      assert.include(current(`${safeName("x.y")}.json`), `"resource": "x.y"`)
      assert.include(current("x_y.json"), `"resource": "x_y"`, "another resource's file is left alone")
      // a.b leaves: its deployed name goes to the next resource that asks for it.
      yield* deregistered("a.b", t0 + 1000)
      yield* files.flush
      yield* heartbeat("a b", t0 + 2000, { n: 4 })
      yield* files.flush
      assert.include(current("a_b.json"), `"resource": "a b"`)
      assert.deepStrictEqual(readdirSync(join(dir, "history/client1")).sort(), [`${safeName("a_b")}.json`, `${safeName("x.y")}.json`, "a_b.json"].sort())
      assert.strictEqual(readFileSync(join(dir, "history/client1/a_b.json"), "utf8"), heartbeatLine("a b", t0 + 2000, { n: 4 }, null) + "\n")
      assert.strictEqual(files.counters().writeErrors, 0)
    }).pipe(Effect.provide(filesLayer({ directory: dir })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  it.live("history_keep 0: the history starts afresh instead of keeping a copy", () => {
    const dir = directory()
    const history = join(dir, "history/client1/host1_example_com.json")
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      for (let n = 1; n <= 3; n++) {
        yield* heartbeat("host1.example.com", t0 + n * 1000, { pad: "y".repeat(80) })
        yield* files.flush
      }
      assert.strictEqual(readFileSync(history, "utf8").split("\n").length - 1, 1)
      assert.deepStrictEqual(readdirSync(join(dir, "history/client1")), ["host1_example_com.json"])
    }).pipe(Effect.provide(filesLayer({ directory: dir, historyMaxBytes: 150, historyKeep: 0 })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  it.live("rewrites a current file in place, also with a shorter content; recreates a folder removed under it", () => {
    const dir = directory()
    const current = join(dir, "current/client1/host1_example_com.json")
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      yield* heartbeat("host1.example.com", t0, { long: "z".repeat(500) })
      yield* files.flush
      assert.strictEqual(readFileSync(current, "utf8"), currentOf(t0, { long: "z".repeat(500) }))
      yield* heartbeat("host1.example.com", t0 + 1000, { short: 1 })
      yield* files.flush
      assert.strictEqual(readFileSync(current, "utf8"), currentOf(t0 + 1000, { short: 1 }))
      rmSync(join(dir, "current"), { recursive: true })
      rmSync(join(dir, "history"), { recursive: true })
      yield* heartbeat("host1.example.com", t0 + 2000, { back: true })
      yield* files.flush
      assert.strictEqual(readFileSync(current, "utf8"), currentOf(t0 + 2000, { back: true }))
      assert.strictEqual(readFileSync(join(dir, "history/client1/host1_example_com.json"), "utf8"), lineOf(t0 + 2000, { back: true }))
      assert.strictEqual(files.counters().writeErrors, 0)
    }).pipe(Effect.provide(filesLayer({ directory: dir })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  it.live(`keeps at most ${maxPendingLinesPerResource} history lines of one resource per write (counted); the current file is the newest`, () => {
    const dir = directory()
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      for (let n = 1; n <= maxPendingLinesPerResource + 5; n++) yield* heartbeat("host1.example.com", t0 + n, { n })
      yield* files.flush
      const lines = readFileSync(join(dir, "history/client1/host1_example_com.json"), "utf8").trim().split("\n")
      assert.strictEqual(lines.length, maxPendingLinesPerResource)
      assert.deepStrictEqual(JSON.parse(lines[0]!).payload, { n: 1 })
      assert.strictEqual(files.counters().historyLinesDropped, 5)
      assert.strictEqual(readFileSync(join(dir, "current/client1/host1_example_com.json"), "utf8"), currentOf(t0 + maxPendingLinesPerResource + 5, { n: maxPendingLinesPerResource + 5 }))
    }).pipe(Effect.provide(filesLayer({ directory: dir })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  it.live("names the resource whose files failed and writes the others", () => {
    const dir = directory()
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      // A file where the client's history folder should be: that resource's history cannot be written.
      writeFileSync(join(dir, "history"), "not a folder")
      yield* heartbeat("host1.example.com", t0, { n: 1 })
      yield* files.flush
      assert.strictEqual(readFileSync(join(dir, "current/client1/host1_example_com.json"), "utf8"), currentOf(t0, { n: 1 }))
      assert.strictEqual(files.counters().writeErrors, 1)
    }).pipe(Effect.provide(filesLayer({ directory: dir })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })

  it.effect("file_lag_seconds: the oldest heartbeat not yet written, then the last write's lag", () => {
    const dir = directory()
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      assert.strictEqual(files.counters().lagSeconds, 0)
      // The receiver's clock (TestClock at 0) stamps the change; the write happens 1.5 s later.
      yield* heartbeat("host1.example.com", 0, { n: 1 })
      yield* TestClock.adjust("1500 millis")
      assert.strictEqual(files.counters().lagSeconds, 1.5)
      yield* files.flush
      assert.strictEqual(files.counters().lagSeconds, 1.5)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(files.counters().lagSeconds, 1.5, "the last write's lag stays until the next write")
      yield* heartbeat("host1.example.com", 11_500, { n: 2 })
      yield* TestClock.adjust("200 millis")
      yield* files.flush
      assert.strictEqual(files.counters().lagSeconds, 0.2)
    }).pipe(Effect.provide(filesLayer({ directory: dir })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })
})

describe("heartbeat files: a write in slices", () => {
  it.live("a write of more resources than a slice holds goes in slices, every file written, lines in order; the writer thread is started once", () => {
    const dir = mkdtempSync(join(tmpdir(), "hbm-files-slices-"))
    return Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      const names = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]
      // Two heartbeats each in one write: 7 resources in slices of 3 (3, 3, 1), the lines of all
      // of them in the one buffer the first slice carries.
      for (const name of names) yield* heartbeat(name, t0 + 1000, { n: 1 })
      for (const name of names) yield* heartbeat(name, t0 + 2000, { n: 2 })
      yield* files.flush
      for (const name of names) {
        const line = (nowMs: number, n: number) => heartbeatLine(name, nowMs, { n }, null)
        assert.strictEqual(readFileSync(join(dir, `history/client1/${name}.json`), "utf8"), `${line(t0 + 1000, 1)}\n${line(t0 + 2000, 2)}\n`)
        assert.strictEqual(readFileSync(join(dir, `current/client1/${name}.json`), "utf8"), line(t0 + 2000, 2))
      }
      assert.deepStrictEqual({ ...files.counters(), lagSeconds: 0 }, { flushes: 1, filesWritten: 14, writeErrors: 0, rotations: 0, historyLinesDropped: 0, lagSeconds: 0 })
      // The next write reuses the buffers the last slice brought back.
      yield* heartbeat("a7", t0 + 3000, { n: 3 })
      yield* files.flush
      assert.strictEqual(readFileSync(join(dir, "current/client1/a7.json"), "utf8"), heartbeatLine("a7", t0 + 3000, { n: 3 }, null))
      assert.strictEqual(files.counters().flushes, 2)
    }).pipe(Effect.provide(filesLayer({ directory: dir, sliceResources: 3 })), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true }))))
  })
})
