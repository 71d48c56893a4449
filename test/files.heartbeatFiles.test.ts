import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ClientConfig } from "../src/config/ReceiverConfig.ts"
import { HeartbeatFiles, layerHeartbeatFiles } from "../src/files/HeartbeatFiles.ts"

const client: ClientConfig = { name: "Client1", token: "never-written", timeoutMinutes: 1, resources: new Map() }

describe("heartbeat files (write-behind)", () => {
  const directory = mkdtempSync(join(tmpdir(), "hbm-files-"))
  it.live("writes current and history in the deployed layout, without the token; a deregistration then a new heartbeat starts history afresh", () =>
    Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      const seen = (resource: string, nowMs: number, extra = {}) =>
        files.observer.heartbeat(client, { token: "never-written", resource, payload: { n: nowMs }, ...extra }, nowMs)
      seen("host1.example.com", Date.UTC(2026, 10, 21, 12, 0, 0), { timeout: 5 })
      seen("host1.example.com", Date.UTC(2026, 10, 21, 12, 1, 0))
      seen("../../escape", Date.UTC(2026, 10, 21, 12, 0, 0))
      yield* files.flush
      const current = join(directory, "current/client1/host1_example_com.json")
      const history = join(directory, "history/client1/host1_example_com.json")
      assert.deepStrictEqual(JSON.parse(readFileSync(current, "utf8")), {
        utc: "2026-11-21 12:01:00",
        resource: "host1.example.com",
        payload: { n: Date.UTC(2026, 10, 21, 12, 1, 0) },
        timeout: null
      })
      assert.deepStrictEqual(readFileSync(history, "utf8").trim().split("\n").map((l) => JSON.parse(l).utc), [
        "2026-11-21 12:00:00",
        "2026-11-21 12:01:00"
      ])
      assert.deepStrictEqual(readdirSync(directory).sort(), ["current", "history"])
      assert.lengthOf(readdirSync(join(directory, "current/client1")).filter((f) => f.startsWith("______escape~")), 1)

      files.observer.deregistered(client, "host1.example.com", Date.UTC(2026, 10, 21, 12, 2, 0))
      seen("host1.example.com", Date.UTC(2026, 10, 21, 12, 3, 0))
      yield* files.flush
      assert.deepStrictEqual(readFileSync(history, "utf8").trim().split("\n").map((l) => JSON.parse(l).utc), [
        "2026-11-21 12:03:00"
      ])
      files.observer.deregistered(client, "host1.example.com", Date.UTC(2026, 10, 21, 12, 4, 0))
      yield* files.flush
      assert.isFalse(existsSync(current) || existsSync(history))
      for (const folder of ["current/client1", "history/client1"]) {
        for (const file of readdirSync(join(directory, folder))) {
          assert.notInclude(readFileSync(join(directory, folder, file), "utf8"), "never-written")
        }
      }
    }).pipe(Effect.provide(layerHeartbeatFiles({ directory, flushIntervalMs: 3_600_000 }))))
})
