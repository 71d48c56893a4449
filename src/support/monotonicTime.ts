import { Clock, Effect } from "effect"

/**
 * The receiver's timeline (issue 13.6): the monotonic clock, in milliseconds, on the wall clock's
 * scale as it was when the receiver first read it. Deadlines, ages and the grace period run on it,
 * so a wall-clock step (NTP, a resumed VM, an operator's `date -s`) of any size neither makes a
 * resource stale nor keeps one fresh. What is stored and shown is wall-clock time: `wallMillisOf`
 * turns an instant of the timeline into the wall-clock time it is now known as.
 *
 * Until the wall clock steps, timeline and wall clock agree (to the millisecond); after a step they
 * differ by the step. Effect's `Clock` gives both readings (`currentTimeMillis`, `monotonicTimeNanos`)
 * and TestClock drives both, so scenarios can step one without the other.
 */
const anchors = new WeakMap<Clock.Clock, number>()

const monotonicRawMillis = (clock: Clock.Clock): number => Number(clock.monotonicTimeNanosUnsafe() / 1000n) / 1000

/** Now on the receiver's timeline (whole milliseconds). */
export const monotonicMillis = (clock: Clock.Clock): number => {
  const raw = monotonicRawMillis(clock)
  let anchor = anchors.get(clock)
  if (anchor === undefined) {
    anchor = clock.currentTimeMillisUnsafe() - raw
    anchors.set(clock, anchor)
  }
  return Math.floor(anchor + raw)
}

/** `monotonicMillis` of the current fiber's clock. */
export const currentMonotonicMillis: Effect.Effect<number> = Clock.clockWith((clock) => Effect.sync(() => monotonicMillis(clock)))

/**
 * Below this, the two clocks disagree only by their reading noise (a millisecond or two), not by
 * a step: the offset counts as 0, so a time shown is the time recorded, to the millisecond.
 */
const stepThresholdMs = 1000

/** How far the wall clock is ahead of the timeline now (0 until it steps by a second or more). */
export const wallOffsetMillis = (clock: Clock.Clock): number => {
  const offset = clock.currentTimeMillisUnsafe() - monotonicMillis(clock)
  return Math.abs(offset) < stepThresholdMs ? 0 : offset
}

/** The wall-clock time, as of now, of an instant of the timeline (for storing and showing it). */
export const wallMillisOf = (clock: Clock.Clock, timelineMs: number): number => timelineMs + wallOffsetMillis(clock)

/** The instant of the timeline of a wall-clock time (a stored one, at start). */
export const timelineMillisOf = (clock: Clock.Clock, wallMs: number): number => wallMs - wallOffsetMillis(clock)
