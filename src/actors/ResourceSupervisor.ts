import { Clock, Context, Duration, Effect, Fiber, Layer, Schedule } from "effect"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import type { ClientConfig, ReceiverConfig } from "../config/ReceiverConfig.ts"
import type { HeartbeatFacts } from "../domain/Heartbeat.ts"
import type { RunSignal } from "../monitor/runRules.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import {
  clientRemoved,
  formerClientProfile,
  profileFor,
  resourceKey,
  type ResourceProfile,
  sameProfile
} from "../monitor/ResourceProfile.ts"
import { deregister, neverHeard, rareCheck, type ResourceState, setPaused, type Transition, retentionIsOver } from "../monitor/resourceRules.ts"
import { Outbox } from "../notify/Outbox.ts"
import { StatePersistence } from "../store/StatePersistence.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { ActorRegistry } from "./ActorRegistry.ts"
import { DeadlineQueue } from "./DeadlineQueue.ts"
import { type ActorEnvironment, ActorProbe, ResourceActor, runActor } from "./ResourceActor.ts"
import { currentMonotonicMillis, monotonicMillis } from "../support/monotonicTime.ts"

/**
 * Owns every resource actor: creates them for configured resources and on first heartbeats, routes
 * heartbeats to them, stops them on deregistration, reconciles them with a new configuration, and
 * restarts a crashed one after the delay its restart policy (a `Schedule`) gives. It is the only
 * place that creates, restarts or stops actors; every change of an actor's state goes through the
 * actor's `apply`. All routing is synchronous so the ingress path never waits on a fiber.
 *
 * Actors are virtual: an actor gets a fiber for each step (`activate`: when its due time in the
 * deadline queue comes, or at once for a new one) and the fiber ends after the step, so a waiting
 * actor holds none. The fibers belong to the supervisor's scope: one still taking its step is kept
 * on its actor (no second map; measured per entry on top of a fiber: FiberMap +330 B, FiberSet
 * +195 B, a fiber observer +110 B, this +0) and closing the scope interrupts those and waits.
 */
export class ResourceSupervisor extends Context.Service<ResourceSupervisor, {
  /** A heartbeat from an authenticated client. */
  readonly deliver: (client: ClientConfig, heartbeat: HeartbeatFacts, nowMs: number) => void
  /** A run signal (HTTP ping: start, success, fail) from an authenticated client. */
  readonly signal: (client: ClientConfig, resource: string, signal: RunSignal, nowMs: number) => void
  readonly deregister: (client: ClientConfig, resource: string, nowMs: number) => void
  /** Operator pause / resume; false when the resource is unknown. */
  readonly setPaused: (client: string, resource: string, paused: boolean) => boolean
  /**
   * Reconciles actors with a (new) configuration: adds, updates and removes. A removed client's
   * resources are kept without alerts (`client_removed`) for `removed_client_retention`.
   */
  readonly applyConfig: (config: ReceiverConfig) => void
  /** Forgets a removed client's resource now (operator); false when there is no such resource. */
  readonly forgetRemoved: (client: string, resource: string) => boolean
  /** Runs the rare check over every actor, yielding now and then so ingress keeps flowing. */
  readonly rareCheck: Effect.Effect<void>
  readonly moment: (nowMs: number) => MonitorMoment
  readonly find: (client: string, resource: string) => ResourceActor | undefined
  readonly actors: () => IterableIterator<ResourceActor>
  readonly size: () => number
  /** How many resources one client has (heard, configured or kept). */
  readonly sizeOf: (client: string) => number
  readonly restarts: () => number
}>()("heartbeat-mesh/actors/ResourceSupervisor") {}

const rareCheckBatch = 5000

/**
 * The supervisor for a configuration: restores every resource an earlier run knew (its timer
 * resuming from the stored last heartbeat), then reconciles with the configuration.
 */
/**
 * How long a crashed actor waits before its restart: 1 s, doubling per crash in a row, at most
 * 60 s, each delay jittered by +-20% so actors that crashed together do not restart together.
 */
export const actorRestartPolicy: Schedule.Schedule<unknown> = Schedule.min([
  Schedule.exponential("1 second", 2),
  Schedule.spaced("60 seconds")
]).pipe(Schedule.jittered)

/** The policy's delay before the restart after `crashesInARow` crashes; undefined once it gives up. */
export const restartDelayMs = (policy: Schedule.Schedule<unknown>, crashesInARow: number) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(policy)
    const now = yield* Clock.currentTimeMillis
    let delayMs: number | undefined = 0
    for (let attempt = 0; attempt < crashesInARow && delayMs !== undefined; attempt++) {
      const next = yield* Effect.result(step(now, undefined))
      delayMs = next._tag === "Success" ? Duration.toMillis(next.success[1]) : undefined
    }
    return delayMs
  })

export interface SupervisorOptions {
  /** When to restart a crashed actor (default `actorRestartPolicy`). */
  readonly restartPolicy?: Schedule.Schedule<unknown>
}

export const layerResourceSupervisor = (config: ReceiverConfig, options: SupervisorOptions = {}) =>
  Layer.effect(
    ResourceSupervisor,
    Effect.gen(function*() {
      const outbox = yield* Outbox
      const changes = yield* ResourceChanges
      const { restored } = yield* StatePersistence
      const probe = yield* ActorProbe
      const restartPolicy = options.restartPolicy ?? actorRestartPolicy
      const forkActor = Effect.runForkWith(yield* Effect.context<never>())
      const deadlines = new DeadlineQueue()
      yield* Effect.forkScoped(deadlines.run)
      const clock = yield* Clock.Clock
      const startedAtMs = monotonicMillis(clock)
      const graceEndsMs = startedAtMs + config.timing.graceMs
      const actors = new ActorRegistry()
      let lastHeartbeatAnywhereMs: number | undefined = undefined
      let restarts = 0

      // Thousands of heartbeats share a millisecond: reuse the moment while nothing in it changed.
      let lastMoment: MonitorMoment | undefined = undefined
      const moment = (nowMs: number): MonitorMoment => {
        if (lastMoment !== undefined && lastMoment.nowMs === nowMs && lastMoment.lastHeartbeatAnywhereMs === lastHeartbeatAnywhereMs) {
          return lastMoment
        }
        lastMoment = { nowMs, timing: config.timing, graceEndsMs, lastHeartbeatAnywhereMs, receiver: config.receiver }
        return lastMoment
      }

      /**
       * A step of `actor` failed: count it, and give the actor a new fiber that waits out the
       * restart policy's delay for this many crashes in a row, then steps with the state it had.
       */
      const crashed = (actor: ResourceActor, defect: unknown, nowMs: number) =>
        Effect.gen(function*() {
          actor.consecutiveCrashes++
          const delayMs = yield* restartDelayMs(restartPolicy, actor.consecutiveCrashes)
          const current = actors.get(actor.profile.client, actor.profile.resource) === actor
          const details = {
            client: actor.profile.client,
            resource: actor.profile.resource,
            crashesInARow: actor.consecutiveCrashes,
            defect: defect instanceof Error ? defect.message : String(defect)
          }
          if (!current) return
          if (delayMs === undefined) {
            actor.wakeAt = undefined
            actor.stopped = true
            return yield* Effect.logError("resource actor crashed; the restart policy gives up: it stays stopped", details)
          }
          restarts++
          actor.restarts++
          yield* Effect.logError("resource actor crashed; restarting it with its state", { ...details, restartInMs: delayMs })
          // Its new fiber is materialized when this falls due.
          deadlines.schedule(actor, nowMs + delayMs)
        })

      /** Set when the supervisor's scope closes: no actor is materialized after that. */
      let closed = false
      /**
       * Materializes an actor: a fiber for one step. The fiber usually takes its step at once (a
       * fork runs until it suspends) and is gone when this returns; one that is still on its way
       * is kept on the actor, so a stop or the shutdown can interrupt it.
       */
      const activate = (actor: ResourceActor) => {
        if (closed || actor.stopped) return
        actor.active = true
        const fiber = forkActor(runActor(actor, env))
        if (actor.active) actor.fiber = fiber
      }

      const env: ActorEnvironment = {
        moment,
        emit: outbox.enqueueAll,
        publish: changes.publish,
        crashed,
        deadlines,
        probe: probe.beforeStep,
        activate
      }

      /** A new actor, registered; its first step (`activate`, or a due time) computes when it next wakes. */
      const create = (client: string, resource: string, profile: ResourceActor["profile"], state: ResourceState) => {
        const actor = new ResourceActor(resourceKey(client, resource), profile, state, env)
        actors.add(actor)
        return actor
      }

      const stop = (actor: ResourceActor) => {
        actor.stopped = true
        actor.wakeAt = undefined
        actor.fiber?.interruptUnsafe()
        actor.fiber = undefined
      }
      /** Ends a resource: its last change (after undefined), then its fiber. */
      const retire = (actor: ResourceActor, cause: "deregister" | "configure", transition: Transition, now: MonitorMoment) => {
        actor.apply(cause, transition, now, "ends")
        stop(actor)
        actors.remove(actor)
      }
      // The actors live as long as this scope: closing it interrupts every fiber still taking a
      // step and waits for them; nothing is materialized after that.
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          closed = true
          const fibers: Array<Fiber.Fiber<void>> = []
          for (const actor of actors.values()) {
            if (actor.fiber !== undefined) fibers.push(actor.fiber)
            actor.wakeAt = undefined
            actor.fiber = undefined
          }
          return Fiber.interruptAll(fibers)
        })
      )

      const signal = (client: ClientConfig, resource: string, runSignal: RunSignal, nowMs: number) => {
        const now = moment(nowMs)
        const existing = actors.get(client.name, resource)
        lastHeartbeatAnywhereMs = nowMs
        if (existing !== undefined) {
          existing.run(runSignal, now)
          return
        }
        // A discovered resource: its actor is born with its first heartbeat (or run signal).
        const actor = create(client.name, resource, profileFor(client, resource), neverHeard)
        actor.run(runSignal, now, "begins")
        activate(actor)
      }
      const deliver = (client: ClientConfig, heartbeat: HeartbeatFacts, nowMs: number) =>
        signal(client, heartbeat.resource, { kind: "success", heartbeat }, nowMs)

      const deregisterResource = (client: ClientConfig, resource: string, nowMs: number) => {
        const now = moment(nowMs)
        const actor = actors.get(client.name, resource)
        const profile = actor?.profile ?? profileFor(client, resource)
        const transition = deregister(profile, now)
        if (actor === undefined) {
          // Unknown here (an earlier run without stored state may have known it): let the subscribers
          // forget whatever they kept of it, but send nothing: a name the receiver never knew is no
          // news, and junk deregistrations cannot fill the outbox (issue 15.1).
          changes.publish({
            cause: "deregister",
            key: resourceKey(client.name, resource),
            profile,
            before: undefined,
            after: undefined,
            notifications: [],
            moment: now
          })
        } else if (profile.configured) {
          actor.apply("deregister", transition, now)
          actor.poke(nowMs)
        } else {
          retire(actor, "deregister", transition, now)
        }
      }

      const setPausedFor = (client: string, resource: string, paused: boolean) => {
        const actor = actors.get(client, resource)
        if (actor === undefined) return false
        const now = moment(monotonicMillis(clock))
        actor.apply(paused ? "pause" : "resume", { state: setPaused(actor.state, paused), notifications: [] }, now)
        return true
      }

      /** A removed client's resources, kept without alerts until `removed_client_retention` is over. */
      const removed = new Set<ResourceActor>()
      const keep = (actor: ResourceActor, profile: ResourceProfile, now: MonitorMoment) => {
        actor.profile = profile
        actor.apply("configure", { state: actor.state, notifications: [] }, now)
        actor.poke(now.nowMs)
      }
      /** Forgets the removed clients' resources whose retention is over. */
      const forgetExpired = (now: MonitorMoment) => {
        for (const actor of [...removed]) {
          if (!retentionIsOver(actor.profile, now)) continue
          removed.delete(actor)
          retire(actor, "configure", { state: actor.state, notifications: [] }, now)
        }
      }

      const applyConfig = (next: ReceiverConfig, nowMs: number) => {
        const now = moment(nowMs)
        const clients = new Map(next.clients.map((client) => [client.name, client]))
        for (const actor of [...actors.values()]) {
          const client = clients.get(actor.profile.client)
          const heard = actor.state.lastSeenMs !== undefined
          if (client === undefined) {
            // The client is gone (a reload, or an earlier run's client): what is known of its
            // resources is kept, without alerts, so that adding the client back restores them.
            if (!heard && !actor.state.paused) {
              removed.delete(actor)
              retire(actor, "configure", { state: actor.state, notifications: [] }, now)
            } else if (actor.profile.clientRemovedAtMs === undefined) {
              removed.add(actor)
              keep(actor, clientRemoved(actor.profile, nowMs), now)
            } else {
              removed.add(actor)
            }
            continue
          }
          removed.delete(actor)
          const profile = profileFor(client, actor.profile.resource)
          if (!profile.configured && !heard) {
            retire(actor, "configure", { state: actor.state, notifications: [] }, now)
          } else if (!sameProfile(profile, actor.profile)) {
            // The registry files actors by client and resource, which a profile change never alters.
            actor.profile = profile
            actor.apply("configure", { state: actor.state, notifications: [] }, now)
            actor.poke(nowMs)
          }
        }
        for (const client of next.clients) {
          for (const resource of client.resources.keys()) {
            if (actors.get(client.name, resource) !== undefined) continue
            const actor = create(client.name, resource, profileFor(client, resource), neverHeard)
            actor.apply("configure", { state: neverHeard, notifications: [] }, now, "begins")
            activate(actor)
          }
        }
        forgetExpired(now)
      }

      // Retention is checked every check interval: precise enough for days, and no timer per actor.
      yield* Effect.forkScoped(Effect.forever(
        Effect.andThen(Effect.sleep(config.timing.checkIntervalMs), Effect.suspend(() => {
          if (removed.size > 0) forgetExpired(moment(monotonicMillis(clock)))
          return Effect.void
        }))
      ))

      /** An operator forgets a removed client's resource (the API's deregister): false when there is none. */
      const forgetRemoved = (client: string, resource: string, nowMs: number) => {
        const actor = actors.get(client, resource)
        if (actor === undefined || actor.profile.clientRemovedAtMs === undefined) return false
        removed.delete(actor)
        retire(actor, "deregister", { state: neverHeard, notifications: [] }, moment(nowMs))
        return true
      }

      const rareCheckAll = Effect.gen(function*() {
        let done = 0
        for (const actor of actors.values()) {
          const now = moment(yield* currentMonotonicMillis)
          actor.apply("rare_check", { state: actor.state, notifications: rareCheck(actor.state, actor.profile, now) }, now)
          if (++done % rareCheckBatch === 0) yield* Effect.yieldNow
        }
      })

      // What an earlier run knew: actors whose timers resume from the stored last heartbeat. The
      // downtime is a blind period, not evidence: the grace period and storm suppression apply.
      // What no longer fits the configuration is restored and then reconciled by it, like any
      // resource a configuration drops; a removed client's resources come back as removed, since
      // when they were (or from now, for a client removed while the receiver was down).
      const start = moment(startedAtMs)
      const knownClients = new Map(config.clients.map((client) => [client.name, client]))
      const restoredActors: Array<ResourceActor> = []
      for (const row of restored) {
        const client = knownClients.get(row.client)
        // A client removed while the receiver was down is marked removed by the reconciliation below
        // (a change, so the store learns since when); one removed earlier keeps its moment.
        // A client back in the configuration after being removed: restored as it was stored (removed),
        // then brought back by the reconciliation, a `configure` change like a reload's (the history
        // records it registered again, the store learns it is back).
        const former = formerClientProfile(row.client, row.resource)
        const profile = client !== undefined
          ? row.clientRemovedMs === undefined ? profileFor(client, row.resource) : clientRemoved(profileFor(client, row.resource), row.clientRemovedMs)
          : row.clientRemovedMs === undefined
          ? former
          : clientRemoved(former, row.clientRemovedMs)
        const actor = create(row.client, row.resource, profile, {
          firstSeenMs: row.firstSeenMs,
          lastSeenMs: row.lastSeenMs,
          timeoutOverrideMinutes: row.timeoutOverrideMinutes,
          payload: row.payload,
          nextTimeoutAlertMs: undefined,
          paused: row.paused,
          timeoutSent: false
        })
        actor.apply("restore", { state: actor.state, notifications: [] }, start, "begins")
        restoredActors.push(actor)
      }
      applyConfig(config, startedAtMs)
      // Each takes its first step now, before any subscriber built after the supervisor (the
      // resource index, the history) starts: its fiber ends with the step, as every actor's does.
      for (const actor of restoredActors) {
        if (actors.get(actor.profile.client, actor.profile.resource) === actor) activate(actor)
      }

      yield* liveCounter("actor_restarts_total", "Resource actors restarted after a defect", () => restarts)
      return ResourceSupervisor.of({
        deliver,
        signal,
        deregister: deregisterResource,
        setPaused: setPausedFor,
        applyConfig: (next) => applyConfig(next, monotonicMillis(clock)),
        forgetRemoved: (client, resource) => forgetRemoved(client, resource, monotonicMillis(clock)),
        rareCheck: rareCheckAll,
        moment,
        find: (client, resource) => actors.get(client, resource),
        actors: () => actors.values(),
        size: () => actors.size,
        sizeOf: (client) => actors.sizeOf(client),
        restarts: () => restarts
      })
    })
  )
