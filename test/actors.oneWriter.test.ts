import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import type { ResourceState } from "../src/monitor/resourceRules.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import type { StoredResource } from "../src/store/StateStore.ts"
import { at, configFrom, RecordedChanges, recordingReceiverLayer, send, standardYaml } from "./support/receiverHarness.ts"

const stored = (client: string, resource: string, lastSeenSeconds: number): StoredResource => ({
  client,
  resource,
  firstSeenMs: lastSeenSeconds * 1000,
  lastSeenMs: lastSeenSeconds * 1000,
  timeoutOverrideMinutes: undefined,
  payload: undefined,
  status: "alive",
  paused: false
})

const stateText = (state: ResourceState | undefined) =>
  state === undefined
    ? "none"
    : `seen=${state.lastSeenMs ?? "-"}${state.paused ? " paused" : ""}${
      state.nextTimeoutAlertMs === undefined ? "" : ` alertAt=${state.nextTimeoutAlertMs}`
    }`

/** Every change since the last call: cause, resource, before, after, the events it told. */
const takeChanges = Effect.gen(function*() {
  const recorded = yield* RecordedChanges
  return recorded.take().map((change) => [
    change.cause,
    change.profile.resource,
    stateText(change.before),
    stateText(change.after),
    change.notifications.map((n) => n.event.replace("heartbeat_mesh_heartbeat_", ""))
  ])
})

describe("one writer: every transition publishes exactly one ResourceChanged", () => {
  it.effect("restore, configure, heartbeat, pause, resume, rare check, wake, deregister, reload", () =>
    Effect.gen(function*() {
      // Built at t = 0: the restore, then the configuration marks the orphan's client removed (kept,
      // same state, no alerts) and adds host2.
      assert.deepStrictEqual(yield* takeChanges, [
        ["restore", "host1.example.com", "none", "seen=-10000", []],
        ["restore", "orphan.example.com", "none", "seen=-10000", []],
        ["configure", "orphan.example.com", "seen=-10000", "seen=-10000", []],
        ["configure", "host2.example.com", "none", "seen=-", []]
      ])

      yield* at(10)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("bbbbbbbb", "disc.example.com")
      yield* at(20)
      const supervisor = yield* ResourceSupervisor
      assert.isTrue(supervisor.setPaused("Client1", "host2.example.com", true))
      yield* at(30)
      assert.isTrue(supervisor.setPaused("Client1", "host2.example.com", false))
      // Pausing what is already running changes nothing and publishes nothing.
      assert.isTrue(supervisor.setPaused("Client1", "host2.example.com", false))
      assert.deepStrictEqual(yield* takeChanges, [
        ["heartbeat", "host1.example.com", "seen=-10000", "seen=10000", []],
        // Discovered: it comes into being with its first heartbeat (silent during grace).
        ["heartbeat", "disc.example.com", "none", "seen=10000", []],
        ["pause", "host2.example.com", "seen=-", "seen=- paused", []],
        ["resume", "host2.example.com", "seen=- paused", "seen=-", []]
      ])

      // The end of grace: the rare check tells without changing any state.
      yield* at(70)
      assert.deepStrictEqual(yield* takeChanges, [
        ["rare_check", "host1.example.com", "seen=10000", "seen=10000", ["ok", "registered", "config_exist"]],
        ["rare_check", "host2.example.com", "seen=-", "seen=-", ["not_registered"]],
        ["rare_check", "disc.example.com", "seen=10000", "seen=10000", ["ok"]]
      ])

      yield* at(100)
      yield* send("bbbbbbbb", "disc.example.com")
      // host1's deadline: 10 s + 60 s timeout + 60 s jitter.
      yield* at(130)
      assert.deepStrictEqual(yield* takeChanges, [
        ["heartbeat", "disc.example.com", "seen=10000", "seen=100000", []],
        ["wake", "host1.example.com", "seen=10000", "seen=10000 alertAt=190000", ["timeout"]]
      ])

      yield* at(140)
      yield* send("aaaaaaaa", "host1.example.com", { deregister: true })
      yield* send("bbbbbbbb", "disc.example.com", { deregister: true })
      yield* send("bbbbbbbb", "ghost.example.com", { deregister: true })
      yield* at(141)
      assert.deepStrictEqual(yield* takeChanges, [
        // Configured: back to never heard. Discovered: gone. Unknown: nothing before or after, and
        // nothing sent (a name the receiver never knew is no news).
        ["deregister", "host1.example.com", "seen=10000 alertAt=190000", "seen=-", ["deregistered"]],
        ["deregister", "disc.example.com", "seen=100000", "none", ["deregistered"]],
        ["deregister", "ghost.example.com", "none", "none", []]
      ])
      assert.isUndefined(supervisor.find("Client2", "disc.example.com"))

      // A reload: host2's severity changes (same state, new profile), host3 is added.
      const router = yield* HeartbeatRouter
      router.applyConfig(configFrom(
        standardYaml.replace("host2.example.com: {}", "host2.example.com: { severity: critical }\n      host3.example.com: {}")
      ))
      const reload = (yield* RecordedChanges).take()
      assert.deepStrictEqual(reload.map((change) => [change.cause, change.profile.resource, stateText(change.before), stateText(change.after)]), [
        ["configure", "host2.example.com", "seen=-", "seen=-"],
        ["configure", "host3.example.com", "none", "seen=-"]
      ])
      assert.strictEqual(reload[0]!.profile.severity, "critical")
      assert.strictEqual(reload[0]!.moment.nowMs, 141_000)
    }).pipe(Effect.provide(recordingReceiverLayer(standardYaml, [
      stored("Client1", "host1.example.com", -10),
      stored("Gone", "orphan.example.com", -10)
    ]))))
})
