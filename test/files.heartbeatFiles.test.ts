import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ResourceChanges } from "../src/changes/ResourceChanges.ts"
import { HeartbeatFiles, layerHeartbeatFiles } from "../src/files/HeartbeatFiles.ts"
import { fixtureClient, momentAt } from "./support/changeFixtures.ts"
import { profileFor, resourceKey } from "../src/monitor/ResourceProfile.ts"
import { deregister, neverHeard, receiveHeartbeat } from "../src/monitor/resourceRules.ts"

const client = fixtureClient

describe("heartbeat files (write-behind, a subscriber of the change stream)", () => {
  const directory = mkdtempSync(join(tmpdir(), "hbm-files-"))
  it.live("writes current and history in the deployed layout, without the token; a deregistration then a new heartbeat starts history afresh", () =>
    Effect.gen(function*() {
      const files = yield* HeartbeatFiles
      const changes = yield* ResourceChanges
      // The changes an actor publishes, as the stream carries them.
      const seen = (resource: string, nowMs: number, extra: { timeout?: number } = {}) => {
        const profile = profileFor(client, resource)
        const moment = momentAt(nowMs)
        const facts = { resource, timeoutMinutes: extra.timeout, payload: { n: nowMs } }
        const transition = receiveHeartbeat(neverHeard, profile, facts, moment)
        changes.publish({ cause: "heartbeat", key: resourceKey(client.name, resource), profile, before: neverHeard, after: transition.state, notifications: transition.notifications, moment })
      }
      const deregistered = (resource: string, nowMs: number) => {
        const profile = profileFor(client, resource)
        const moment = momentAt(nowMs)
        const transition = deregister(profile, moment)
        changes.publish({ cause: "deregister", key: resourceKey(client.name, resource), profile, before: neverHeard, after: undefined, notifications: transition.notifications, moment })
      }
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

      deregistered("host1.example.com", Date.UTC(2026, 10, 21, 12, 2, 0))
      seen("host1.example.com", Date.UTC(2026, 10, 21, 12, 3, 0))
      yield* files.flush
      assert.deepStrictEqual(readFileSync(history, "utf8").trim().split("\n").map((l) => JSON.parse(l).utc), [
        "2026-11-21 12:03:00"
      ])
      deregistered("host1.example.com", Date.UTC(2026, 10, 21, 12, 4, 0))
      yield* files.flush
      assert.isFalse(existsSync(current) || existsSync(history))
      for (const folder of ["current/client1", "history/client1"]) {
        for (const file of readdirSync(join(directory, folder))) {
          assert.notInclude(readFileSync(join(directory, folder, file), "utf8"), "never-written")
        }
      }
    }).pipe(Effect.provide(layerHeartbeatFiles({ directory, flushIntervalMs: 3_600_000 }).pipe(Layer.provideMerge(ResourceChanges.layer)))))
})
