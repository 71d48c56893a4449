import { Clock, Context, Effect, Layer } from "effect"
import type { ClientConfig, ReceiverConfig } from "../config/ReceiverConfig.ts"
import type { HeartbeatFacts } from "../domain/Heartbeat.ts"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import { RestoredResources } from "../store/StatePersistence.ts"
import type { MonitorMoment } from "../monitor/MonitorMoment.ts"
import { profileFor, resourceKey, sameProfile } from "../monitor/ResourceProfile.ts"
import { deadlineOf, deregister, neverHeard, rareCheck, receiveHeartbeat, setPaused } from "../monitor/resourceRules.ts"
import { Outbox } from "../notify/Outbox.ts"
import { ActorRegistry } from "./ActorRegistry.ts"
import { DeadlineQueue } from "./DeadlineQueue.ts"
import { type ActorEnvironment, ActorProbe, ResourceActor, runActor } from "./ResourceActor.ts"

/**
 * Owns every resource actor: creates them for configured resources and on first heartbeats, routes
 * heartbeats to them, stops them on deregistration, and reconciles them with a new configuration.
 * All routing is synchronous so the ingress path never waits on a fiber.
 */
export class ResourceSupervisor extends Context.Service<ResourceSupervisor, {
  /** A heartbeat from an authenticated client. */
  readonly deliver: (client: ClientConfig, heartbeat: HeartbeatFacts, nowMs: number) => void
  readonly deregister: (client: ClientConfig, resource: string, nowMs: number) => void
  /** Operator pause / resume; false when the resource is unknown. */
  readonly setPaused: (client: string, resource: string, paused: boolean) => boolean
  /** Reconciles actors with a (new) configuration: adds, updates and removes. */
  readonly applyConfig: (config: ReceiverConfig) => void
  /** Runs the rare check over every actor, yielding now and then so ingress keeps flowing. */
  readonly rareCheck: Effect.Effect<void>
  readonly moment: (nowMs: number) => MonitorMoment
  readonly find: (client: string, resource: string) => ResourceActor | undefined
  readonly actors: () => IterableIterator<ResourceActor>
  readonly size: () => number
  readonly restarts: () => number
}>()("heartbeat-mesh/actors/ResourceSupervisor") {}

const rareCheckBatch = 5000

/**
 * The supervisor for a configuration: restores every resource an earlier run knew (its timer
 * resuming from the stored last heartbeat), then reconciles with the configuration.
 */
export const layerResourceSupervisor = (config: ReceiverConfig) =>
  Layer.effect(
    ResourceSupervisor,
    Effect.gen(function*() {
      const outbox = yield* Outbox
      const changes = yield* ResourceChanges
      const restored = yield* RestoredResources
      const probe = yield* ActorProbe
      const forkActor = Effect.runForkWith(yield* Effect.context<never>())
      const deadlines = new DeadlineQueue()
      yield* Effect.forkScoped(deadlines.run)
      const clock = yield* Clock.Clock
      const startedAtMs = clock.currentTimeMillisUnsafe()
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

      const env: ActorEnvironment = {
        moment,
        emit: outbox.enqueueAll,
        changed: changes.changed,
        onRestart: () => {
          restarts++
        },
        deadlines
      }

      /** Gives a new actor its fiber; its first step computes when it next needs to wake. */
      const spawn = (actor: ResourceActor) => {
        actor.fiber = forkActor(runActor(actor, env, probe))
      }

      /** Wakes the actor now to recompute its deadline (first heartbeat, shorter timeout, new config). */
      const poke = (actor: ResourceActor, nowMs: number) => deadlines.schedule(actor, nowMs)

      const stop = (actor: ResourceActor) => {
        actor.wakeAt = undefined
        actor.fiber?.interruptUnsafe()
        actor.fiber = undefined
      }
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const actor of actors.values()) stop(actor)
        })
      )

      const deliver = (client: ClientConfig, heartbeat: HeartbeatFacts, nowMs: number) => {
        let actor = actors.get(client.name, heartbeat.resource)
        const isNew = actor === undefined
        if (actor === undefined) {
          actor = new ResourceActor(resourceKey(client.name, heartbeat.resource), profileFor(client, heartbeat.resource), neverHeard)
          actors.add(actor)
        }
        const now = moment(nowMs)
        const previousOverride = actor.state.timeoutOverrideMinutes
        const transition = receiveHeartbeat(actor.state, actor.profile, heartbeat, now)
        actor.state = transition.state
        changes.changed(actor)
        lastHeartbeatAnywhereMs = nowMs
        if (transition.notifications.length > 0) outbox.enqueueAll(transition.notifications)
        // A routine heartbeat only moves the deadline later: the waiting fiber will find that out
        // when it wakes. Only an idle actor or an earlier deadline (shorter timeout) is woken now.
        if (isNew) {
          spawn(actor)
          return
        }
        if (actor.wakeAt === undefined) poke(actor, nowMs)
        else if (heartbeat.timeoutMinutes !== previousOverride) {
          // Only a changed timeout can bring the deadline forward.
          const deadline = deadlineOf(actor.state, actor.profile, now)
          if (deadline !== undefined && deadline < actor.wakeAt) poke(actor, nowMs)
        }
      }

      const deregisterResource = (client: ClientConfig, resource: string, nowMs: number) => {
        const actor = actors.get(client.name, resource)
        const profile = actor?.profile ?? profileFor(client, resource)
        const transition = deregister(profile, moment(nowMs))
        outbox.enqueueAll(transition.notifications)
        if (actor === undefined) return
        if (profile.configured) {
          actor.state = transition.state
          changes.changed(actor)
          poke(actor, nowMs)
        } else {
          stop(actor)
          actors.remove(actor)
          changes.removed(client.name, resource)
        }
      }

      const setPausedFor = (client: string, resource: string, paused: boolean) => {
        const actor = actors.get(client, resource)
        if (actor === undefined) return false
        const next = setPaused(actor.state, paused)
        if (next !== actor.state) {
          actor.state = next
          changes.changed(actor)
        }
        return true
      }

      const applyConfig = (next: ReceiverConfig, nowMs: number) => {
        const clients = new Map(next.clients.map((client) => [client.name, client]))
        for (const actor of [...actors.values()]) {
          const client = clients.get(actor.profile.client)
          const profile = client === undefined ? undefined : profileFor(client, actor.profile.resource)
          const heard = actor.state.lastSeenMs !== undefined
          if (profile === undefined || (!profile.configured && !heard)) {
            stop(actor)
            actors.remove(actor)
            changes.removed(actor.profile.client, actor.profile.resource)
          } else if (!sameProfile(profile, actor.profile)) {
            // The registry files actors by client and resource, which a profile change never alters.
            actor.profile = profile
            poke(actor, nowMs)
          }
        }
        for (const client of next.clients) {
          for (const resource of client.resources.keys()) {
            if (actors.get(client.name, resource) !== undefined) continue
            const actor = new ResourceActor(resourceKey(client.name, resource), profileFor(client, resource), neverHeard)
            actors.add(actor)
            spawn(actor)
          }
        }
      }

      const rareCheckAll = Effect.gen(function*() {
        let done = 0
        for (const actor of actors.values()) {
          const now = yield* Clock.currentTimeMillis
          const notifications = rareCheck(actor.state, actor.profile, moment(now))
          if (notifications.length > 0) outbox.enqueueAll(notifications)
          if (++done % rareCheckBatch === 0) yield* Effect.yieldNow
        }
      })

      // What an earlier run knew: actors whose timers resume from the stored last heartbeat. The
      // downtime is a blind period, not evidence: the grace period and storm suppression apply.
      const knownClients = new Map(config.clients.map((client) => [client.name, client]))
      for (const row of restored) {
        const client = knownClients.get(row.client)
        if (client === undefined) {
          changes.removed(row.client, row.resource)
          continue
        }
        const profile = profileFor(client, row.resource)
        if (row.lastSeenMs === undefined && !profile.configured) {
          changes.removed(row.client, row.resource)
          continue
        }
        const actor = new ResourceActor(resourceKey(row.client, row.resource), profile, {
          firstSeenMs: row.firstSeenMs,
          lastSeenMs: row.lastSeenMs,
          timeoutOverrideMinutes: row.timeoutOverrideMinutes,
          payload: row.payload,
          nextTimeoutAlertMs: undefined,
          paused: row.paused
        })
        actors.add(actor)
        spawn(actor)
      }
      applyConfig(config, startedAtMs)

      return ResourceSupervisor.of({
        deliver,
        deregister: deregisterResource,
        setPaused: setPausedFor,
        applyConfig: (next) => applyConfig(next, clock.currentTimeMillisUnsafe()),
        rareCheck: rareCheckAll,
        moment,
        find: (client, resource) => actors.get(client, resource),
        actors: () => actors.values(),
        size: () => actors.size,
        restarts: () => restarts
      })
    })
  )
