import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { statusOf } from "../src/monitor/resourceStatus.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { StateStore } from "../src/store/StateStore.ts"
import { monotonicMillis } from "../src/support/monotonicTime.ts"
import { at, receiverLayer, send, takeSent } from "./support/receiverHarness.ts"

const hour = 3_600_000

/**
 * The test's TestClock with a wall clock that can step while monotonic time does not: what NTP, a
 * resumed VM or `date -s` do to a running receiver. Everything else (sleeps, `adjust`, `setTime`)
 * is the TestClock's.
 */
const steppingClock = Effect.map(Clock.clockWith(Effect.succeed), (test) => {
  let stepMs = 0
  const wallMs = () => test.currentTimeMillisUnsafe() + stepMs
  const clock: Clock.Clock = {
    ...test,
    currentTimeMillisUnsafe: wallMs,
    currentTimeMillis: Effect.sync(wallMs),
    currentTimeNanosUnsafe: () => BigInt(wallMs()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(wallMs()) * 1_000_000n)
  }
  return { clock, step: (ms: number) => void (stepMs += ms) }
})

/** Runs `scenario` on the receiver with the stepping clock as everybody's clock. */
const withSteppedReceiver = <A, E>(scenario: (step: (ms: number) => void) => Effect.Effect<A, E, any>) =>
  Effect.gen(function*() {
    const { clock, step } = yield* steppingClock
    return yield* scenario(step).pipe(Effect.provide(receiverLayer()), Effect.provideService(Clock.Clock, clock))
  })

const timeouts = Effect.map(takeSent, (sent) =>
  sent.filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout").map((n) => [n.resource, n.value]))

// Client1: timeout 1 min; jitter 60 s, check interval 60 s, grace 70 s (receiverHarness standardYaml).
describe("deadlines on the monotonic clock: wall-clock steps (issue 13.6)", () => {
  it.effect("+1 h: no false timeout; the real one still fires on time; stored times are the new wall clock", () =>
    withSteppedReceiver((step) =>
      Effect.gen(function*() {
        // fast sends every 10 s; slow asks for a 10 min timeout and sends every 5 min.
        for (let t = 0; t <= 1600; t += 10) {
          yield* at(t)
          if (t === 300) step(hour)
          yield* send("aaaaaaaa", "fast.example.com")
          if (t <= 850 && t % 300 === 250 || t === 0) yield* send("aaaaaaaa", "slow.example.com", { timeout: 10 })
          if (t === 400) {
            // The API's status reads the same timeline.
            const supervisor = yield* ResourceSupervisor
            const slow = supervisor.find("Client1", "slow.example.com")!
            assert.strictEqual(statusOf(slow.state, slow.profile, supervisor.moment(400_000)), "alive")
          }
          if (t === 1500) assert.deepStrictEqual(yield* timeouts, [])
        }
        // slow's last heartbeat at 850: stale at 850 + 600 + 60 = 1510 (never 850 + 660 - 3600),
        // repeated a check interval later.
        assert.deepStrictEqual(yield* timeouts, [["slow.example.com", 660], ["slow.example.com", 720]])

        // Stored: wall-clock times as the stepped clock knows them (a step corrects the clock: slow's
        // first heartbeat, at timeline 0, happened at what the wall clock now calls 1 h).
        yield* StatePersistence.use((persistence) => persistence.flush)
        const rows = yield* StateStore.use((store) => store.loadAll)
        assert.strictEqual(rows.find((row) => row.resource === "fast.example.com")?.lastSeenMs, 1_600_000 + hour)
        assert.strictEqual(rows.find((row) => row.resource === "slow.example.com")?.firstSeenMs, hour)
        const wall = yield* Clock.currentTimeMillis
        assert.strictEqual(wall, 1_600_000 + hour)
        assert.strictEqual(monotonicMillis(yield* Clock.Clock), 1_600_000)
      })))

  it.effect("-1 h: no missed timeout; it fires at the deadline, not an hour late", () =>
    withSteppedReceiver((step) =>
      Effect.gen(function*() {
        for (let t = 0; t <= 400; t += 10) {
          yield* at(t)
          if (t === 250) step(-hour)
          yield* send("aaaaaaaa", "fast.example.com")
          if (t <= 180 && t % 30 === 0) yield* send("aaaaaaaa", "dying.example.com")
          // dying's last heartbeat at 180: stale at 180 + 60 + 60 = 300.
          if (t === 290) assert.deepStrictEqual(yield* timeouts, [])
          if (t === 300) assert.deepStrictEqual(yield* timeouts, [["dying.example.com", 120]])
        }
        assert.deepStrictEqual(yield* timeouts, [["dying.example.com", 180]])
        yield* StatePersistence.use((persistence) => persistence.flush)
        const rows = yield* StateStore.use((store) => store.loadAll)
        assert.strictEqual(rows.find((row) => row.resource === "fast.example.com")?.lastSeenMs, 400_000 - hour)
      })))
})
