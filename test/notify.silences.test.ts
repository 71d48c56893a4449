import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { silenceLimits } from "../src/monitor/silences.ts"
import type { Notification } from "../src/domain/Notification.ts"
import { type SilenceEvent, Silences } from "../src/notify/Silences.ts"
import { at, eventsOf, receiverLayer, send, takeSent } from "./support/receiverHarness.ts"

/** Events about resources (the receiver's own activity events aside). */
const aboutResources = (sent: ReadonlyArray<Notification>) => eventsOf(sent.filter((n) => n.client !== undefined))

const yaml = `
enabled: true
notify_devilry_sleep: 0
rare_check_interval: 3600
clients:
  Client1:
    token: aaaaaaaa
    timeout: 60
  Client2:
    token: bbbbbbbb
    timeout: 60
`

const describeEvent = (event: SilenceEvent) =>
  `${event.kind}:${event.silence.client}/${event.silence.resource ?? "*"}@${event.atMs / 1000}${event.by === undefined ? "" : ` by ${event.by}`}`

// TestClock starts at the epoch; silences are on the same (wall) clock as mute windows.
describe("silences in the outbox (TestClock)", () => {
  it.effect("a resource's silence holds its state changes and ends by itself at until: then the latest held state goes out", () =>
    Effect.gen(function*() {
      const silences = yield* Silences
      const events: Array<string> = []
      yield* silences.subscribe((event) => events.push(describeEvent(event)))
      yield* at(90)
      yield* send("aaaaaaaa", "db1")
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:db1"])
      yield* at(100)
      yield* silences.silence({ client: "Client1", resource: "db1", fromMs: 100_000, untilMs: 150_000, reason: "disk swap", by: "otto" })
      assert.deepStrictEqual(silences.active().map((s) => s.resource), ["db1"])
      yield* at(110)
      yield* send("aaaaaaaa", "db1", { deregister: true }) // silenced: held
      yield* send("aaaaaaaa", "db2") // another resource: sent
      yield* send("bbbbbbbb", "db1") // the same name in another client: sent
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:db2", "heartbeat_mesh_heartbeat_new:db1"])
      yield* at(149.5)
      assert.deepStrictEqual(aboutResources(yield* takeSent), [])
      assert.deepStrictEqual(events, ["silenced:Client1/db1@100"])
      yield* at(150) // over: it ends by itself, at its until
      assert.deepStrictEqual(events, ["silenced:Client1/db1@100", "expired:Client1/db1@150"])
      assert.deepStrictEqual(silences.active(), [])
      assert.isUndefined(silences.find("Client1", "db1"))
      yield* at(151) // the outbox's next look: what was held goes out
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_deregistered:db1"])
      yield* send("aaaaaaaa", "db1")
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:db1"])
    }).pipe(Effect.provide(receiverLayer(yaml))))

  it.effect("a whole client's silence holds every resource of it; lifted, what it held goes out within a second", () =>
    Effect.gen(function*() {
      const silences = yield* Silences
      const events: Array<string> = []
      yield* silences.subscribe((event) => events.push(describeEvent(event)))
      yield* at(200)
      yield* silences.silence({ client: "Client1", resource: undefined, fromMs: 200_000, untilMs: 3_800_000, reason: "move", by: "admin_token" })
      yield* at(210)
      yield* send("aaaaaaaa", "web1")
      yield* send("aaaaaaaa", "web2")
      yield* send("bbbbbbbb", "web1")
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:web1"])
      assert.strictEqual((yield* silences.lift("Client1", "web1", "otto")), undefined, "no silence of its own to lift")
      yield* at(220)
      const lifted = yield* silences.lift("Client1", undefined, "otto")
      assert.strictEqual(lifted?.reason, "move")
      yield* at(221)
      assert.deepStrictEqual(aboutResources(yield* takeSent).sort(), ["heartbeat_mesh_heartbeat_new:web1", "heartbeat_mesh_heartbeat_new:web2"])
      assert.deepStrictEqual(events, ["silenced:Client1/*@200", "lifted:Client1/*@220 by otto"])
      // Lifted: it does not end a second time.
      yield* at(3_900)
      assert.deepStrictEqual(events.length, 2)
    }).pipe(Effect.provide(receiverLayer(yaml))))

  it.effect("setting a silence again replaces it: the new end counts, the old one expires nothing", () =>
    Effect.gen(function*() {
      const silences = yield* Silences
      const events: Array<string> = []
      yield* silences.subscribe((event) => events.push(describeEvent(event)))
      yield* at(70) // past the grace period
      yield* silences.silence({ client: "Client2", resource: "x", fromMs: 70_000, untilMs: 80_000, reason: "short", by: "otto" })
      yield* silences.silence({ client: "Client2", resource: "x", fromMs: 70_000, untilMs: 100_000, reason: "longer", by: "olga" })
      yield* at(80)
      yield* send("bbbbbbbb", "x")
      assert.deepStrictEqual(aboutResources(yield* takeSent), [])
      assert.deepStrictEqual(silences.active().map((s) => s.reason), ["longer"])
      yield* at(100)
      assert.deepStrictEqual(events, ["silenced:Client2/x@70", "silenced:Client2/x@70", "expired:Client2/x@100"])
      yield* at(101)
      assert.deepStrictEqual(aboutResources(yield* takeSent), ["heartbeat_mesh_heartbeat_new:x"])
    }).pipe(Effect.provide(receiverLayer(yaml))))

  it.effect(`at most ${silenceLimits.maxActive} silences in force: one more is refused (counted), replacing one is not`, () =>
    Effect.gen(function*() {
      const silences = yield* Silences
      const one = (resource: string, reason = "r") =>
        silences.silence({ client: "Client1", resource, fromMs: 0, untilMs: 3_600_000, reason, by: "otto" })
      for (let n = 0; n < silenceLimits.maxActive; n++) yield* one(`r${n}`)
      const refused = yield* Effect.flip(one("one-more"))
      assert.strictEqual(refused._tag, "TooManySilences")
      assert.strictEqual(refused._tag === "TooManySilences" ? refused.reason : "", `already ${silenceLimits.maxActive} silences in force; lift some first`)
      yield* one("r7", "replaced")
      assert.strictEqual(silences.find("Client1", "r7")?.reason, "replaced")
      assert.strictEqual(silences.active().length, silenceLimits.maxActive)
      yield* silences.lift("Client1", "r0", "otto")
      yield* one("one-more")
      assert.strictEqual(silences.active().length, silenceLimits.maxActive)
    }).pipe(Effect.provide(receiverLayer(yaml))))
})

