import { Clock, Context, Effect, type Fiber } from "effect"
import type { Notification } from "../domain/Notification.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import { type ResourceState, wake } from "../monitor/resourceRules.ts"
import type { DeadlineQueue, Sleeper } from "./DeadlineQueue.ts"

/**
 * One monitored resource: its configuration, what is known of it, and the fiber that owns its
 * deadline. The heartbeat path updates `state` synchronously through the pure rules; the fiber only
 * wakes when a deadline or a timeout repeat is due, so a routine heartbeat never touches a timer.
 */
export class ResourceActor implements Sleeper {
  readonly key: string
  profile: ResourceProfile
  state: ResourceState
  /**
   * When the fiber next wakes: undefined while it idles (nothing heard yet), -Infinity from spawn
   * until its first step has run.
   */
  wakeAt: number | undefined = Number.NEGATIVE_INFINITY
  fiber: Fiber.Fiber<void> | undefined = undefined
  /** Crashes in a row, for the restart back-off; reset by a clean step. */
  consecutiveCrashes = 0
  restarts = 0
  private resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  /** A wake that came while the fiber was not suspended (between scheduling and suspending). */
  private wokenEarly = false

  constructor(key: string, profile: ResourceProfile, state: ResourceState) {
    this.key = key
    this.profile = profile
    this.state = state
  }

  /** Called by the deadline queue (or a poke): lets the suspended fiber take its next step. */
  wake(): void {
    const resume = this.resume
    if (resume === undefined) {
      this.wokenEarly = true
      return
    }
    this.resume = undefined
    resume(Effect.void)
  }

  /** Suspends the fiber until `wake` (at once if a wake already came). */
  readonly suspend: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.wokenEarly) {
      this.wokenEarly = false
      resume(Effect.void)
    } else {
      this.resume = resume
    }
  })
}

/** What an actor's fiber needs from the receiver around it. */
export interface ActorEnvironment {
  readonly moment: (nowMs: number) => MonitorMoment
  readonly emit: (notifications: ReadonlyArray<Notification>) => void
  /** The actor's state changed (it went stale, or a timeout repeat was scheduled). */
  readonly changed: (actor: ResourceActor) => void
  readonly onRestart: (actor: ResourceActor) => void
  readonly deadlines: DeadlineQueue
}

/**
 * Called at the start of every actor step. A seam for tests that need an actor to crash; does
 * nothing in production.
 */
export const ActorProbe = Context.Reference<(actor: ResourceActor) => void>("heartbeat-mesh/actors/ActorProbe", {
  defaultValue: () => () => {}
})

const maxRestartDelayMs = 60_000

/**
 * The actor's life: apply the wake rule, hand notifications over, wait until next due, repeat.
 * Written as a flatMap chain rather than a generator: a suspended actor then holds no generator
 * frame, which matters at a million actors.
 *
 * Supervision: a defect in a step (the rules, the probe, the hand-over) is caught, logged and
 * counted; the actor steps again after a back-off (1 s, doubling up to 60 s) with the state it had.
 * Other actors never notice. Interruption (stop, shutdown) ends it.
 */
export const runActor = (actor: ResourceActor, env: ActorEnvironment, probe: (actor: ResourceActor) => void) => {
  const step: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    let nextWakeMs: number | undefined
    try {
      probe(actor)
      const result = wake(actor.state, actor.profile, env.moment(now))
      if (result.state !== actor.state) {
        actor.state = result.state
        env.changed(actor)
      }
      if (result.notifications.length > 0) env.emit(result.notifications)
      nextWakeMs = result.nextWakeMs
      actor.consecutiveCrashes = 0
    } catch (defect) {
      return restartAfterCrash(now, defect)
    }
    if (nextWakeMs === undefined) actor.wakeAt = undefined
    else env.deadlines.schedule(actor, nextWakeMs)
    return next
  })

  const next: Effect.Effect<void> = Effect.flatMap(actor.suspend, () => step)

  const restartAfterCrash = (now: number, defect: unknown) => {
    actor.consecutiveCrashes++
    actor.restarts++
    env.onRestart(actor)
    const delayMs = Math.min(maxRestartDelayMs, 1000 * 2 ** (actor.consecutiveCrashes - 1))
    return Effect.flatMap(
      Effect.logError("resource actor crashed; restarting it with its state", {
        client: actor.profile.client,
        resource: actor.profile.resource,
        restartInMs: delayMs,
        defect: defect instanceof Error ? defect.message : String(defect)
      }),
      () => {
        env.deadlines.schedule(actor, now + delayMs)
        return next
      }
    )
  }

  return step
}
