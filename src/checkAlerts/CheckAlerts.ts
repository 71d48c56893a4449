/**
 * Alerts on the checks senders report (issue 20): a feature layer on the change stream. It keeps,
 * per resource, the level of each check (`payload.checks`, re-evaluated with the receiver's own
 * thresholds where receiver.yaml has them), and hands a notification to the outbox when a check's
 * level changes, when a check stops being reported (unknown after the resource's timeout) and, as
 * repeats, at every rare check while a check is not ok. The rules are pure (`monitor/checkRules.ts`);
 * this layer only keeps the state and sends.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { type ResourceChanged, ResourceChanges } from "../changes/ResourceChanges.ts"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import { noReceiverThresholds, type ReceiverThresholds } from "../config/receiverThresholds.ts"
import {
  checkNotification,
  type CheckState,
  type ChecksStep,
  type CheckTransition,
  expireChecks,
  maxChecksPerResource,
  noChecks,
  receiveChecks,
  repeatChecks,
  type ResourceChecks
} from "../monitor/checkRules.ts"
import { inGrace, receiverIsActive } from "../monitor/MonitorMoment.ts"
import { resourceKey } from "../monitor/ResourceProfile.ts"
import { timeoutMsOf } from "../monitor/resourceRules.ts"
import { Outbox } from "../notify/Outbox.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"

/** One check as the API shows it. */
export interface CheckView extends CheckState {
  readonly name: string
}

export interface CheckAlertsCounters {
  /** Checks held, over all resources. */
  readonly checks: number
  /** Level changes notified (expiries to unknown included). */
  readonly changes: number
  /** Rare-check repeats notified. */
  readonly repeats: number
  /** Entries of `payload.checks` dropped: malformed, or past the per-resource bound. */
  readonly dropped: number
}

export class CheckAlerts extends Context.Service<CheckAlerts, {
  /** The checks of one resource, by name; empty when it reported none. */
  readonly checksOf: (client: string, resource: string) => ReadonlyArray<CheckView>
  /** Takes the thresholds of a reloaded receiver.yaml (they apply from the next heartbeat). */
  readonly applyConfig: (config: ReceiverConfig) => void
  readonly counters: () => CheckAlertsCounters
  /**
   * Hears every level change (not the repeats) as it is decided, during the grace period and while
   * paused too, until the current scope closes: the history's seam (issue 18).
   */
  readonly subscribeLevels: (listener: LevelListener) => Effect.Effect<void, never, Scope.Scope>
}>()("heartbeat-mesh/checkAlerts/CheckAlerts") {}

export type LevelListener = (change: ResourceChanged, transitions: ReadonlyArray<CheckTransition>) => void

const hasChecksOrMetrics = (payload: Readonly<Record<string, unknown>> | undefined) =>
  payload !== undefined && (payload["checks"] !== undefined || payload["metrics"] !== undefined)

export const layerCheckAlerts = (config: ReceiverConfig) =>
  Layer.effect(
    CheckAlerts,
    Effect.gen(function*() {
      const changes = yield* ResourceChanges
      const outbox = yield* Outbox
      let thresholds: ReceiverThresholds = config.thresholds ?? noReceiverThresholds
      // By resource key (`resourceKey`).
      const held = new Map<string, ResourceChecks>()
      let total = 0
      let changesSent = 0
      let repeatsSent = 0
      let dropped = 0
      let levelListeners: ReadonlyArray<LevelListener> = []

      const send = (change: ResourceChanged, transitions: ReadonlyArray<CheckTransition>, repeat: boolean) => {
        if (!repeat && transitions.length > 0) for (const listener of levelListeners) listener(change, transitions)
        // Like new and comeback, nothing during the grace period after a start; nothing while paused.
        if (transitions.length === 0 || inGrace(change.moment) || change.after?.paused === true) return
        for (const transition of transitions) outbox.enqueue(checkNotification(transition, change.profile, change.moment.receiver))
        if (repeat) repeatsSent += transitions.length
        else changesSent += transitions.length
      }

      const store = (change: ResourceChanged, step: ChecksStep) => {
        const before = held.get(change.key)?.size ?? 0
        if (step.checks.size === 0) held.delete(change.key)
        else held.set(change.key, step.checks)
        total += step.checks.size - before
        dropped += step.dropped
      }

      /** Checks not reported for the resource's timeout + jitter become unknown (not while the receiver hears nobody). */
      const expire = (change: ResourceChanged, checks: ResourceChecks): ChecksStep => {
        if (change.after === undefined || !receiverIsActive(change.moment)) return { checks, transitions: [], dropped: 0 }
        const staleAfterMs = timeoutMsOf(change.after, change.profile) + change.moment.timing.jitterMs
        return expireChecks(checks, staleAfterMs, change.moment.nowMs)
      }

      yield* liveGauge("checks", "Checks reported by senders' plugins, held by the receiver", () => total)
      const notificationsHelp = "Check notifications: level changes and expiries (kind=change), rare-check repeats (kind=repeat)"
      yield* liveCounter("check_notifications_total", notificationsHelp, () => changesSent, { kind: "change" })
      yield* liveCounter("check_notifications_total", notificationsHelp, () => repeatsSent, { kind: "repeat" })
      yield* liveCounter("check_entries_dropped_total", `payload.checks entries dropped: malformed, or past ${maxChecksPerResource} checks per resource`, () => dropped)

      yield* changes.subscribe((change) => {
        const current = held.get(change.key)
        if (change.after === undefined) {
          if (current !== undefined) store(change, { checks: noChecks, transitions: [], dropped: 0 })
          return
        }
        switch (change.cause) {
          case "heartbeat": {
            // The common heartbeat (no plugins, nothing held) costs two lookups.
            if (current === undefined && !hasChecksOrMetrics(change.after.payload)) return
            const table = thresholds.forResource(change.profile.client, change.profile.resource)
            const received = receiveChecks(current ?? noChecks, change.after.payload, table, change.moment.nowMs)
            const expired = expire(change, received.checks)
            store(change, { checks: expired.checks, transitions: [], dropped: received.dropped })
            send(change, [...received.transitions, ...expired.transitions], false)
            return
          }
          case "wake": {
            if (current === undefined) return
            const expired = expire(change, current)
            store(change, expired)
            send(change, expired.transitions, false)
            return
          }
          case "rare_check": {
            if (current === undefined) return
            const expired = expire(change, current)
            store(change, expired)
            send(change, expired.transitions, false)
            send(change, repeatChecks(expired.checks).filter((t) => !expired.transitions.some((e) => e.key === t.key)), true)
            return
          }
          default:
            return
        }
      })

      return CheckAlerts.of({
        checksOf: (client, resource) =>
          [...(held.get(resourceKey(client, resource)) ?? noChecks)].map(([name, check]) => ({ name, ...check })),
        applyConfig: (next) => {
          thresholds = next.thresholds ?? noReceiverThresholds
        },
        counters: () => ({ checks: total, changes: changesSent, repeats: repeatsSent, dropped }),
        subscribeLevels: (listener) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              levelListeners = [...levelListeners, listener]
            }),
            () =>
              Effect.sync(() => {
                levelListeners = levelListeners.filter((candidate) => candidate !== listener)
              })
          )
      })
    })
  )
