import { Context, Effect, type Fiber, Layer } from "effect"
import type { ChangeCause, ResourceChanged } from "../changes/ResourceChanges.ts"
import type { HeartbeatFacts } from "../domain/Heartbeat.ts"
import type { Notification } from "../domain/Notification.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../monitor/ResourceProfile.ts"
import { deadlineOf, type ResourceState, type Transition } from "../monitor/resourceRules.ts"
import { receiveRunSignal, runDeadlineOf, type RunSignal, wakeWithRuns } from "../monitor/runRules.ts"
import type { DeadlineQueue, Sleeper } from "./DeadlineQueue.ts"
import { currentMonotonicMillis } from "../support/monotonicTime.ts"

/** What every actor needs from the receiver around it (one object shared by all actors). */
export interface ActorEnvironment {
  readonly moment: (nowMs: number) => MonitorMoment
  /** Hands notifications to the outbox (synchronous, never waits). */
  readonly emit: (notifications: ReadonlyArray<Notification>) => void
  /** The change stream (`ResourceChanges.publish`). */
  readonly publish: (change: ResourceChanged) => void
  /** A step failed with `defect` at `nowMs`: the supervisor's restart (this fiber then ends). */
  readonly crashed: (actor: ResourceActor, defect: unknown, nowMs: number) => Effect.Effect<void>
  readonly deadlines: DeadlineQueue
  readonly probe: (actor: ResourceActor) => void
  /** Materializes `actor`: gives it a fiber that takes one step (the supervisor forks it in its scope). */
  readonly activate: (actor: ResourceActor) => void
}

/** Whether a change begins the resource's life here, continues it, or ends it. */
export type Lifecycle = "continues" | "begins" | "ends"

/**
 * One monitored resource: its configuration, what is known of it, and its deadline. Every change
 * of its state, whatever caused it, goes through `apply`, which hands the notifications to the
 * outbox and publishes one `ResourceChanged`. The heartbeat path calls it synchronously.
 *
 * A virtual actor: its fiber exists only while it has a step to take. When its deadline (an entry
 * in the `DeadlineQueue`) falls due, or something pokes it, the supervisor materializes a fiber
 * that takes one step (the wake rule) and ends after putting the next due time in the queue: an
 * actor that is only waiting holds no fiber (measured ~1 KB each, half the heap at 100k). A routine
 * heartbeat never touches a timer: it only moves the deadline later, which the next step finds.
 */
export class ResourceActor implements Sleeper {
  readonly key: string
  profile: ResourceProfile
  state: ResourceState
  private readonly env: ActorEnvironment
  /**
   * When the actor next steps: undefined while it idles (nothing heard yet), -Infinity from its
   * activation until its step has run.
   */
  wakeAt: number | undefined = Number.NEGATIVE_INFINITY
  /** The fiber taking its step, while one has not finished (a step that ran at once leaves none). */
  fiber: Fiber.Fiber<void> | undefined = undefined
  /** From activation until its step has run: a wake meanwhile is that step's to see. */
  active = false
  /** Stopped (retired, shut down, or its restart policy gave up): nothing activates it again. */
  stopped = false
  /** Crashes in a row, for the restart back-off; reset by a clean step. */
  consecutiveCrashes = 0
  /** Restarts since the actor was created. */
  restarts = 0

  constructor(key: string, profile: ResourceProfile, state: ResourceState, env: ActorEnvironment) {
    this.key = key
    this.profile = profile
    this.state = state
    this.env = env
  }

  /**
   * The one writer of this resource's state: takes the transition's state, hands its notifications
   * to the outbox, and publishes the change. A transition that changes nothing and tells nothing
   * publishes nothing (a wake before the deadline), except a configuration change, which may
   * change the profile alone.
   */
  apply(cause: ChangeCause, transition: Transition, moment: MonitorMoment, lifecycle: Lifecycle = "continues"): void {
    const before = this.state
    const after = transition.state
    const notifications = transition.notifications
    this.state = after
    if (notifications.length > 0) this.env.emit(notifications)
    if (lifecycle === "continues" && after === before && notifications.length === 0 && cause !== "configure") return
    this.env.publish({
      cause,
      key: this.key,
      profile: this.profile,
      before: lifecycle === "begins" ? undefined : before,
      after: lifecycle === "ends" ? undefined : after,
      notifications,
      moment
    })
  }

  /**
   * A heartbeat from the resource. A routine one only moves the deadline later: the waiting fiber
   * finds that out when it wakes. Only an idle actor or an earlier deadline (a shorter `timeout`)
   * wakes it now. `begins` for a resource discovered by this heartbeat.
   */
  heartbeat(heartbeat: HeartbeatFacts, moment: MonitorMoment, lifecycle: Lifecycle = "continues"): void {
    this.run({ kind: "success", heartbeat }, moment, lifecycle)
  }

  /**
   * A heartbeat or a run signal (HTTP `/start`, `/fail`, exit codes: runRules.ts). Wakes the fiber
   * only when it idles or its next due time moved earlier (a shorter `timeout`, a run's
   * `max_runtime`).
   */
  run(signal: RunSignal, moment: MonitorMoment, lifecycle: Lifecycle = "continues"): void {
    const previousOverride = this.state.timeoutOverrideMinutes
    const hadRun = this.state.runStartedMs !== undefined
    this.apply(signal.kind === "start" ? "start" : "heartbeat", receiveRunSignal(this.state, this.profile, signal, moment), moment, lifecycle)
    if (this.wakeAt === undefined) this.poke(moment.nowMs)
    else if ((signal.kind !== "start" && signal.heartbeat.timeoutMinutes !== previousOverride) || (!hadRun && signal.kind === "start")) {
      const deadline = deadlineOf(this.state, this.profile, moment)
      const runDeadline = runDeadlineOf(this.state, this.profile)
      const due = Math.min(deadline ?? Infinity, runDeadline ?? Infinity)
      if (due < this.wakeAt) this.poke(moment.nowMs)
    }
  }

  /** Wakes the actor at `nowMs` to recompute its deadline. */
  poke(nowMs: number): void {
    this.env.deadlines.schedule(this, nowMs)
  }

  /**
   * Called by the deadline queue when the actor's due time comes: materializes it (a fiber for one
   * step), unless one is already on its way to a step, which reads the state as it is then.
   */
  wake(): void {
    if (!this.active && !this.stopped) this.env.activate(this)
  }
}

/**
 * Called at the start of every actor step: the seam for tests that need an actor to crash.
 * Required, so production says explicitly that it has none (`ActorProbe.layerNone`).
 */
export class ActorProbe extends Context.Service<ActorProbe, {
  readonly beforeStep: (actor: ResourceActor) => void
}>()("heartbeat-mesh/actors/ActorProbe") {
  static readonly layerNone: Layer.Layer<ActorProbe> = Layer.succeed(ActorProbe)({ beforeStep: () => {} })
  /** A probe that runs `beforeStep` (and may throw) at every step. */
  static readonly layerTest = (beforeStep: (actor: ResourceActor) => void): Layer.Layer<ActorProbe> =>
    Layer.succeed(ActorProbe)({ beforeStep })
}

/**
 * One step of the actor's life, in the fiber its activation forked: apply the wake rule, hand
 * notifications over, put the next due time in the deadline queue, end (passivate). Nothing is
 * held between steps but the actor itself and its entry in the queue.
 *
 * A defect in a step (the rules, the probe, the hand-over) ends the fiber: the step reports it to
 * the supervisor (`env.crashed`), which restarts the actor, with the state it had, in a new fiber
 * once the restart policy's delay is over. Interruption (stop, shutdown) ends it silently.
 */
export const runActor = (actor: ResourceActor, env: ActorEnvironment): Effect.Effect<void> =>
  Effect.flatMap(currentMonotonicMillis, (now) => {
    let nextWakeMs: number | undefined
    try {
      env.probe(actor)
      const moment = env.moment(now)
      const result = wakeWithRuns(actor.state, actor.profile, moment)
      actor.apply("wake", result, moment)
      nextWakeMs = result.nextWakeMs
      actor.consecutiveCrashes = 0
    } catch (defect) {
      actor.active = false
      actor.fiber = undefined
      return env.crashed(actor, defect, now)
    }
    actor.active = false
    actor.fiber = undefined
    if (nextWakeMs === undefined) actor.wakeAt = undefined
    else env.deadlines.schedule(actor, nextWakeMs)
    return Effect.void
  })
