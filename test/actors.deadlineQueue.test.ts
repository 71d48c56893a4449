import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { DeadlineQueue, type Sleeper } from "../src/actors/DeadlineQueue.ts"

/** A sleeper that records the clock time of every wake. */
const recorder = (name: string, log: Array<string>, clock: Clock.Clock): Sleeper => ({
  wakeAt: undefined,
  wake() {
    log.push(`${name}@${clock.currentTimeMillisUnsafe()}`)
  }
})

describe("DeadlineQueue (TestClock)", () => {
  it.effect("wakes each sleeper at exactly its moment, in order, whatever order they were scheduled in", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const queue = new DeadlineQueue()
      yield* Effect.forkChild(queue.run)
      const log: Array<string> = []
      const [a, b, c] = ["a", "b", "c"].map((name) => recorder(name, log, clock))
      queue.schedule(c!, 3000)
      queue.schedule(a!, 1000)
      queue.schedule(b!, 2000)
      yield* TestClock.adjust(999)
      assert.deepStrictEqual(log, [])
      yield* TestClock.adjust(2001)
      assert.deepStrictEqual(log, ["a@1000", "b@2000", "c@3000"])
      assert.strictEqual(queue.size, 0)
    }))

  it.effect("a moved deadline wakes only at the new moment; the old entry is dropped", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const queue = new DeadlineQueue()
      yield* Effect.forkChild(queue.run)
      const log: Array<string> = []
      const sleeper = recorder("s", log, clock)
      queue.schedule(sleeper, 1000)
      queue.schedule(sleeper, 5000) // later: the 1000 entry no longer matches wakeAt
      yield* TestClock.adjust(4000)
      assert.deepStrictEqual(log, [])
      yield* TestClock.adjust(1000)
      assert.deepStrictEqual(log, ["s@5000"])
    }))

  it.effect("an earlier deadline scheduled while the timer sleeps wakes it in time", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const queue = new DeadlineQueue()
      yield* Effect.forkChild(queue.run)
      const log: Array<string> = []
      queue.schedule(recorder("late", log, clock), 60_000)
      yield* TestClock.adjust(1000) // the timer now sleeps until 60 s
      queue.schedule(recorder("early", log, clock), 2500)
      yield* TestClock.adjust(1500)
      assert.deepStrictEqual(log, ["early@2500"])
      yield* TestClock.adjust(57_500)
      assert.deepStrictEqual(log, ["early@2500", "late@60000"])
    }))
})
