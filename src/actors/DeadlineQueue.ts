import { Effect, Latch } from "effect"
import { currentMonotonicMillis } from "../support/monotonicTime.ts"

/** Something waiting for a moment: woken when `wakeAt` (still) equals the moment it asked for. */
export interface Sleeper {
  wakeAt: number | undefined
  wake(): void
}

const fireBatch = 10_000

/**
 * The clock the resource actors wait on. Each actor keeps its own deadline and puts it here; this
 * queue (a binary min-heap in two parallel arrays) wakes it then (`wake`: the supervisor gives it a
 * fiber for its step). One timer fiber sleeps until the earliest deadline, so a million waiting
 * actors cost one timer and no fiber each (measured, see bench/). Deadlines are instants of the
 * receiver's monotonic timeline (`support/monotonicTime.ts`): a wall-clock step moves none of them.
 * Uses the Effect `Clock`, so TestClock drives it exactly.
 *
 * Moving a deadline never removes the old entry: a popped entry whose moment no longer matches the
 * sleeper's `wakeAt` is simply dropped.
 */
export class DeadlineQueue {
  private readonly dues: Array<number> = []
  private readonly sleepers: Array<Sleeper> = []
  private readonly rearm = Latch.makeUnsafe(false)
  /** The moment the timer fiber sleeps until; an earlier deadline must wake it. */
  private armedFor = Number.NEGATIVE_INFINITY

  get size(): number {
    return this.dues.length
  }

  schedule(sleeper: Sleeper, dueMs: number): void {
    sleeper.wakeAt = dueMs
    this.push(dueMs, sleeper)
    if (dueMs < this.armedFor) Latch.openUnsafe(this.rearm)
  }

  /** The timer fiber: fork it once, for the life of the actors. */
  readonly run: Effect.Effect<never> = Effect.suspend(() => this.loop())

  private loop(): Effect.Effect<never> {
    const self = this
    return Effect.gen(function*() {
      while (true) {
        const now = yield* currentMonotonicMillis
        self.armedFor = Number.NEGATIVE_INFINITY
        let fired = 0
        while (self.dues.length > 0 && self.dues[0]! <= now) {
          const [due, sleeper] = self.pop()
          if (sleeper.wakeAt === due) sleeper.wake()
          if (++fired % fireBatch === 0) yield* Effect.yieldNow
        }
        Latch.closeUnsafe(self.rearm)
        if (self.dues.length === 0) {
          self.armedFor = Number.POSITIVE_INFINITY
          yield* self.rearm.await
        } else {
          self.armedFor = self.dues[0]!
          yield* Effect.raceFirst(Effect.sleep(self.armedFor - now), self.rearm.await)
        }
      }
    })
  }

  private push(due: number, sleeper: Sleeper): void {
    const dues = this.dues
    const sleepers = this.sleepers
    let index = dues.length
    dues.push(due)
    sleepers.push(sleeper)
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (dues[parent]! <= due) break
      dues[index] = dues[parent]!
      sleepers[index] = sleepers[parent]!
      index = parent
    }
    dues[index] = due
    sleepers[index] = sleeper
  }

  private pop(): [number, Sleeper] {
    const dues = this.dues
    const sleepers = this.sleepers
    const top: [number, Sleeper] = [dues[0]!, sleepers[0]!]
    const lastDue = dues.pop()!
    const lastSleeper = sleepers.pop()!
    const size = dues.length
    if (size > 0) {
      let index = 0
      while (true) {
        const left = 2 * index + 1
        if (left >= size) break
        const right = left + 1
        const child = right < size && dues[right]! < dues[left]! ? right : left
        if (dues[child]! >= lastDue) break
        dues[index] = dues[child]!
        sleepers[index] = sleepers[child]!
        index = child
      }
      dues[index] = lastDue
      sleepers[index] = lastSleeper
    }
    return top
  }
}
