import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { isRepeat } from "../src/monitor/repeats.ts"
import type { Notification } from "../src/domain/Notification.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { at, configFrom, eventsOf, receiverLayer, send, takeSent } from "./support/receiverHarness.ts"

/** Events about resources (the receiver's own activity events aside). */
const aboutResources = (sent: ReadonlyArray<Notification>) => eventsOf(sent.filter((n) => n.client !== undefined))

// TestClock starts at the epoch: the window is open from 100 s to 200 s after it.
const mutedYaml = `
enabled: true
notify_devilry_sleep: 0
rare_check_interval: 3600
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
mute:
  - { name: maintenance, resource: "db*", from: "1970-01-01T00:01:40Z", until: "1970-01-01T00:03:20Z" }
`

describe("mute windows in the outbox (TestClock)", () => {
  it.effect("hold state changes of matching resources, drop their repeats, and send the latest state when the window ends", () =>
    Effect.gen(function*() {
      yield* at(90)
      yield* send("aaaaaaaa", "db1") // before the window: sent
      yield* send("aaaaaaaa", "web1")
      assert.deepStrictEqual(aboutResources(yield* takeSent), [
        "heartbeat_mesh_heartbeat_new:db1",
        "heartbeat_mesh_heartbeat_new:web1"
      ])
      yield* at(110)
      yield* send("aaaaaaaa", "db2") // muted: held
      yield* send("aaaaaaaa", "web2") // not matched: sent
      yield* send("aaaaaaaa", "db1", { deregister: true }) // muted: held
      yield* send("aaaaaaaa", "db1") // muted: replaces the held deregistration (same resource and state)
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:web2"])
      yield* at(199)
      assert.deepStrictEqual(aboutResources(yield* takeSent), [])
      yield* at(201) // window over: what was held goes out, latest state per resource and state
      assert.deepStrictEqual(aboutResources(yield* takeSent), [
        "heartbeat_mesh_heartbeat_new:db2",
        "heartbeat_mesh_heartbeat_new:db1"
      ])
    }).pipe(Effect.provide(receiverLayer(mutedYaml))))

  it.effect("a timeout that starts during the window is sent when it ends; its repeats during the window are not", () =>
    Effect.gen(function*() {
      yield* at(70)
      yield* send("aaaaaaaa", "db9")
      yield* send("aaaaaaaa", "keeper")
      yield* takeSent
      // db9 goes stale at 70 + 60 + 60 = 190: muted; keeper keeps the receiver active.
      for (const t of [130, 160, 190]) {
        yield* at(t)
        yield* send("aaaaaaaa", "keeper")
      }
      const during = yield* takeSent
      assert.deepStrictEqual(during.filter((n) => n.resource === "db9"), [])
      yield* at(201)
      const after = (yield* takeSent).filter((n) => n.resource === "db9")
      assert.deepStrictEqual(eventsOf(after), ["heartbeat_mesh_heartbeat_timeout:db9"])
      assert.isFalse(isRepeat(after[0]!))
    }).pipe(Effect.provide(receiverLayer(mutedYaml))))

  it.effect("a reload adds and removes windows: from the next notification; what a removed window held goes out within a second", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox
      yield* at(80) // past the grace period
      yield* send("aaaaaaaa", "db1") // no window yet: sent
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:db1"])
      const rerouting = outbox.applyConfig(configFrom(mutedYaml.replace('from: "1970-01-01T00:01:40Z"', 'from: "1970-01-01T00:00:00Z"')))
      assert.isFalse(rerouting.routesWaiting)
      yield* send("aaaaaaaa", "db2") // the reloaded window is open: held
      yield* send("aaaaaaaa", "web1")
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:web1"])
      outbox.applyConfig(configFrom(unmutedStart)) // the window is gone
      yield* at(80.5)
      assert.deepStrictEqual(aboutResources(yield* takeSent), [])
      yield* at(81)
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:db2"])
      yield* send("aaaaaaaa", "db3")
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:db3"])
    }).pipe(Effect.provide(receiverLayer(unmutedStart))))
})

const unmutedStart = mutedYaml.slice(0, mutedYaml.indexOf("mute:"))
