import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Random, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { ActorProbe, type ResourceActor } from "../src/actors/ResourceActor.ts"
import { actorRestartPolicy, ResourceSupervisor, restartDelayMs } from "../src/actors/ResourceSupervisor.ts"
import { RecordedNotifications } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { at, eventsOf, receiverLayer, receiverName, send, takeSent } from "./support/receiverHarness.ts"

/** A Random that always draws `value`: the jitter of the restart policy becomes exact. */
const fixedRandom = (value: number) => Layer.succeed(Random.Random)({ nextDoubleUnsafe: () => value, nextIntUnsafe: () => 0 })

describe("actor supervision", () => {
  // Crashes host1's actor once, at the wake that would have sent its first timeout (t = 220 s).
  let crashed = 0
  const crashHost1Once = (actor: ResourceActor) => {
    if (actor.profile.resource === "host1.example.com" && actor.wakeAt === 220_000 && crashed === 0) {
      crashed++
      throw new Error("simulated bug in host1's actor")
    }
  }
  // Jitter at its midpoint (0.8 + 0.4 * 0.5 = 1): the first restart is exactly 1 s later.
  const layer = receiverLayer(undefined, [], ActorProbe.layerTest(crashHost1Once)).pipe(Layer.provide(fixedRandom(0.5)))

  it.effect("a crashing actor is restarted with its state; the others never notice", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("aaaaaaaa", "host2.example.com")
      for (let t = 100; t <= 280; t += 30) {
        yield* at(t)
        yield* send("bbbbbbbb", "keepalive.example.com")
      }
      yield* at(281)
      const timeouts = (yield* takeSent)
        .filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout")
        .map((n) => [n.resource, n.value])
      // host2 on time at 220 and 280; host1 one restart delay (1 s) late, then on its own rhythm.
      assert.deepStrictEqual(timeouts, [
        ["host2.example.com", 120],
        ["host1.example.com", 121],
        ["host2.example.com", 180],
        ["host1.example.com", 181]
      ])
      assert.strictEqual(crashed, 1)
      const supervisor = yield* ResourceSupervisor
      assert.strictEqual(supervisor.restarts(), 1)
      assert.strictEqual(supervisor.find("Client1", "host1.example.com")?.restarts, 1)
      // The restarted actor still takes heartbeats: host1 comes back.
      yield* at(290)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* at(291)
      assert.deepStrictEqual(eventsOf(yield* takeSent), [
        "heartbeat_mesh_heartbeat_comeback:host1.example.com",
        "heartbeat_mesh_heartbeat_ok:host1.example.com"
      ])
    }).pipe(Effect.provide(layer)))
})

const pacedYaml = `
enabled: true
notify_devilry_sleep: 1
queue_threshold: 4
clients:
  Client1:
    token: aaaaaaaa
    timeout: 5
`

/** Advances the TestClock by whole seconds, letting the paced sender run at each. */
const advanceSeconds = (seconds: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < seconds; i++) {
      yield* TestClock.adjust(1000)
      yield* Effect.yieldNow
    }
  })

describe("the restart policy (a Schedule: exponential from 1 s, doubling, at most 60 s, jittered +-20%)", () => {
  it.effect("gives the delay for each crash in a row; the jitter scales it between 0.8 and 1.2", () =>
    Effect.gen(function*() {
      const delays = (random: number) =>
        Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8, 20], (n) => restartDelayMs(actorRestartPolicy, n)).pipe(
          Effect.provideService(Random.Random, { nextDoubleUnsafe: () => random, nextIntUnsafe: () => 0 })
        )
      assert.deepStrictEqual(yield* delays(0.5), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
      assert.deepStrictEqual(yield* delays(0), [800, 1600, 3200, 6400, 12800, 25600, 48000, 48000, 48000])
      const top = yield* delays(0.999999)
      assert.isTrue(top.every((delay, i) => delay! > [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000][i]! * 1.1999))
      // A policy that ends gives up: no delay.
      assert.deepStrictEqual(yield* restartDelayMs(Schedule.recurs(2), 3), undefined)
    }))
})

describe("the supervisor restarts a crashing actor per the policy (TestClock)", () => {
  // host1 crashes at its deadline (220 s) and at the next three restarts, then steps cleanly.
  const woken: Array<number> = []
  let crashesLeft = 4
  const crashHost1 = (actor: ResourceActor) => {
    if (actor.profile.resource !== "host1.example.com" || actor.wakeAt === undefined || actor.wakeAt < 220_000) return
    woken.push(actor.wakeAt)
    if (crashesLeft > 0) {
      crashesLeft--
      throw new Error("simulated bug in host1's actor")
    }
  }
  // Jitter at its low end: every delay is 0.8 of the exponential's.
  const layer = receiverLayer(undefined, [], ActorProbe.layerTest(crashHost1)).pipe(Layer.provide(fixedRandom(0)))

  it.effect("new fibers at 220.8, 222.4, 225.6 and 232.0 s; the clean step sends the timeout; the count resets", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("bbbbbbbb", "keepalive.example.com")
      for (const t of [160, 200, 220, 220.8, 222.4, 225.6, 230]) {
        yield* at(t)
        if (t === 160 || t === 200 || t === 230) yield* send("bbbbbbbb", "keepalive.example.com")
      }
      const supervisor = yield* ResourceSupervisor
      const host1 = supervisor.find("Client1", "host1.example.com")!
      assert.deepStrictEqual(woken, [220_000, 220_800, 222_400, 225_600])
      assert.strictEqual(host1.consecutiveCrashes, 4)
      assert.deepStrictEqual((yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout"), [])
      yield* at(232)
      assert.deepStrictEqual(woken, [220_000, 220_800, 222_400, 225_600, 232_000])
      assert.deepStrictEqual(
        (yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout").map((n) => [n.resource, n.value]),
        [["host1.example.com", 132]]
      )
      assert.strictEqual(host1.consecutiveCrashes, 0)
      assert.strictEqual(host1.restarts, 4)
      assert.strictEqual(supervisor.restarts(), 4)
      // The restarted actor took its step in a fiber of its own and passivated: no fiber while it
      // only waits, its next step due one check interval later (when the next timeout goes out).
      assert.isUndefined(host1.fiber)
      assert.isFalse(host1.stopped)
      assert.strictEqual(host1.wakeAt, 292_000)
      yield* at(280)
      yield* send("bbbbbbbb", "keepalive.example.com")
      yield* at(292)
      assert.deepStrictEqual(
        (yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout").map((n) => [n.resource, n.value]),
        [["host1.example.com", 192]]
      )
    }).pipe(Effect.provide(layer)))
})

describe("outbox pacing and queue threshold", () => {
  it.effect("a failed send is retried three times with back-off, then counted and dropped; the next one goes through", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(100_000)
      const recorded = yield* RecordedNotifications
      recorded.failNext(4)
      yield* send("aaaaaaaa", "lost")
      // Attempt, then retries after about 1, 2 and 4 s (each delay 80-120 %): all four fail.
      yield* advanceSeconds(9)
      assert.deepStrictEqual(recorded.all(), [])
      yield* send("aaaaaaaa", "kept")
      yield* advanceSeconds(2)
      assert.deepStrictEqual(eventsOf(recorded.all()), ["heartbeat_mesh_heartbeat_new:kept"])
      const outbox = yield* Outbox
      assert.deepStrictEqual(outbox.counters(), { sent: 1, failed: 1, queued: 0, shed: 0 })
    }).pipe(Effect.provide(receiverLayer(pacedYaml))))

  it.effect("sends one notification per notify_devilry_sleep", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(100_000)
      yield* send("aaaaaaaa", "a")
      yield* send("aaaaaaaa", "b")
      yield* send("aaaaaaaa", "c")
      yield* Effect.yieldNow
      const recorded = yield* RecordedNotifications
      assert.deepStrictEqual(eventsOf(recorded.all()), ["heartbeat_mesh_heartbeat_new:a"])
      yield* TestClock.adjust(999)
      assert.strictEqual(recorded.all().length, 1)
      yield* advanceSeconds(1)
      assert.strictEqual(recorded.all().length, 2)
      yield* advanceSeconds(1)
      assert.deepStrictEqual(eventsOf(recorded.all()), [
        "heartbeat_mesh_heartbeat_new:a",
        "heartbeat_mesh_heartbeat_new:b",
        "heartbeat_mesh_heartbeat_new:c"
      ])
    }).pipe(Effect.provide(receiverLayer(pacedYaml))))

  it.effect("past the cap: the critical event first, state changes coalesced per resource, and it keeps running", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(100_000)
      const recorded = yield* RecordedNotifications
      yield* send("aaaaaaaa", "a") // sent at once; the next send may start 1 s later
      yield* Effect.yieldNow
      yield* send("aaaaaaaa", "b")
      yield* send("aaaaaaaa", "c")
      yield* send("aaaaaaaa", "a", { deregister: true })
      yield* send("aaaaaaaa", "a") // 4 queued: at the cap
      // A fifth: storm. Per resource the latest state survives; a queued new followed by a
      // deregistration of the same resource cancel out (a: deregistered, new, deregistered -> nothing).
      yield* send("aaaaaaaa", "a", { deregister: true })
      yield* send("aaaaaaaa", "a")
      yield* send("aaaaaaaa", "b", { deregister: true }) // cancels the queued new b
      yield* send("aaaaaaaa", "b")
      yield* advanceSeconds(10)
      const sent = recorded.all()
      assert.deepStrictEqual(eventsOf(sent), [
        "heartbeat_mesh_heartbeat_new:a",
        `heartbeat_mesh_receiver_queue_threshold_reached:${receiverName}`,
        "heartbeat_mesh_heartbeat_new:c",
        "heartbeat_mesh_heartbeat_new:a",
        "heartbeat_mesh_heartbeat_new:b"
      ])
      assert.deepStrictEqual(sent[1], {
        severity: "critical",
        event: "heartbeat_mesh_receiver_queue_threshold_reached",
        text: `Notification backlog on receiver ${receiverName} reached 5 (threshold 4): ` +
          "older notifications are coalesced, the latest state of every resource is kept",
        resource: receiverName,
        service: "heartbeat",
        group: receiverName,
        value: 5,
        origin: "heartbeat_mesh/receiver.py"
      })
      // Still running: a new resource is announced as usual.
      recorded.clear()
      yield* send("aaaaaaaa", "d")
      yield* advanceSeconds(1)
      assert.deepStrictEqual(eventsOf(recorded.all()), ["heartbeat_mesh_heartbeat_new:d"])
    }).pipe(Effect.provide(receiverLayer(pacedYaml))))
})

describe("virtual actors: a fiber only while there is a step to take (TestClock)", () => {
  it.effect("a waiting actor holds no fiber; its deadline is in the queue and the step comes on time", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* send("bbbbbbbb", "discovered.example.com")
      yield* at(101)
      const supervisor = yield* ResourceSupervisor
      const actors = [...supervisor.actors()]
      // host1, host2 (configured, never heard: idle) and the discovered one: none has a fiber.
      assert.deepStrictEqual(actors.map((a) => [a.profile.resource, a.fiber, a.active]), [
        ["host1.example.com", undefined, false],
        ["host2.example.com", undefined, false],
        ["discovered.example.com", undefined, false]
      ])
      // Timeout 1 minute + the deployed 60 s of jitter: host1 is due at 220 s, host2 idles.
      assert.deepStrictEqual(actors.map((a) => a.wakeAt), [220_000, undefined, 280_000])
      // The receiver hears from someone meanwhile (else a silent receiver suppresses timeouts).
      for (const t of [160, 200]) {
        yield* at(t)
        yield* send("bbbbbbbb", "discovered.example.com")
      }
      yield* at(220)
      assert.deepStrictEqual(
        (yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout").map((n) => n.resource),
        ["host1.example.com"]
      )
      assert.isUndefined(supervisor.find("Client1", "host1.example.com")!.fiber)
    }).pipe(Effect.provide(receiverLayer())))
})
