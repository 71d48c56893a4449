import { Clock, Context, Effect, type Fiber } from "effect"
import type { Notification } from "../domain/Notification.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import { type ResourceState, wake } from "../monitor/resourceRules.ts"

/**
 * One monitored resource: its configuration, what is known of it, and the fiber that owns its
 * deadline. The heartbeat path updates `state` synchronously through the pure rules; the fiber only
 * wakes when a deadline or a timeout repeat is due, so a routine heartbeat never touches a timer.
 */
export class ResourceActor {
  readonly key: string
  profile: ResourceProfile
  state: ResourceState
  /** When the fiber will next wake; undefined while it idles (nothing heard yet). */
  wakeAt: number | undefined = undefined
  fiber: Fiber.Fiber<void> | undefined = undefined
  /** Crashes in a row, for the restart back-off; reset by a clean wake. */
  consecutiveCrashes = 0
  restarts = 0

  constructor(key: string, profile: ResourceProfile, state: ResourceState) {
    this.key = key
    this.profile = profile
    this.state = state
  }
}

export const actorKey = (client: string, resource: string): string => `${client}\u0000${resource}`

/** What an actor's fiber needs from the receiver around it. */
export interface ActorEnvironment {
  readonly moment: (nowMs: number) => MonitorMoment
  readonly emit: (notifications: ReadonlyArray<Notification>) => void
  /** The actor's state changed (it went stale, or a timeout repeat was scheduled). */
  readonly changed: (actor: ResourceActor) => void
  readonly onRestart: (actor: ResourceActor) => void
}

/**
 * Called at the start of every actor step. A seam for tests that need an actor to crash; does
 * nothing in production.
 */
export const ActorProbe = Context.Reference<(actor: ResourceActor) => void>("heartbeat-mesh/actors/ActorProbe", {
  defaultValue: () => () => {}
})

const maxRestartDelayMs = 60_000

/** The actor's timer loop: apply the wake rule, hand notifications over, sleep until next due. */
const actorLoop = (actor: ResourceActor, env: ActorEnvironment) =>
  Effect.gen(function*() {
    const probe = yield* ActorProbe
    while (true) {
      probe(actor)
      const now = yield* Clock.currentTimeMillis
      const result = wake(actor.state, actor.profile, env.moment(now))
      if (result.state !== actor.state) {
        actor.state = result.state
        env.changed(actor)
      }
      if (result.notifications.length > 0) env.emit(result.notifications)
      actor.wakeAt = result.nextWakeMs
      actor.consecutiveCrashes = 0
      if (result.nextWakeMs === undefined) return yield* Effect.never
      yield* Effect.sleep(Math.max(0, result.nextWakeMs - now))
    }
  })

/**
 * The actor under supervision: a defect is logged and the loop restarts after a back-off
 * (1 s, doubling up to 60 s), with the state it had. Interruption (stop, reconfigure) ends it.
 */
export const supervisedActor = (actor: ResourceActor, env: ActorEnvironment): Effect.Effect<void> =>
  actorLoop(actor, env).pipe(
    Effect.catchDefect((defect) =>
      Effect.gen(function*() {
        actor.consecutiveCrashes++
        actor.restarts++
        env.onRestart(actor)
        const delayMs = Math.min(maxRestartDelayMs, 1000 * 2 ** (actor.consecutiveCrashes - 1))
        yield* Effect.logError("resource actor crashed; restarting it with its state", {
          client: actor.profile.client,
          resource: actor.profile.resource,
          restartInMs: delayMs,
          defect: defect instanceof Error ? defect.message : String(defect)
        })
        yield* Effect.sleep(delayMs)
        return yield* supervisedActor(actor, env)
      })
    )
  )
