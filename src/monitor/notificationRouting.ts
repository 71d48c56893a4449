import type { RouteSubscription } from "../config/routeSubscriptions.ts"
import type { Notification } from "../domain/Notification.ts"

/**
 * Pure routing and mute decisions (issue 15.5): which route a notification takes, whether a
 * repeat is due on a route, whether a mute window holds it back. The outbox is the shell around
 * them; every function here is table-tested.
 */

/** A route as the outbox uses it: globs compiled, channel names resolved to indexes. */
export interface CompiledRoute {
  /** `routes[].name`: what users subscribe to. */
  readonly name?: string | undefined
  readonly client: RegExp | undefined
  readonly resource: RegExp | undefined
  readonly events: ReadonlySet<string> | undefined
  /** Lowest severity rank that matches (see `severityRank`). */
  readonly minRank: number | undefined
  readonly channels: ReadonlyArray<number>
  readonly renotifyEveryMs: number | undefined
}

export interface CompiledMute {
  readonly name: string
  readonly client: RegExp | undefined
  readonly resource: RegExp | undefined
  /** Whether the window is open at `nowMs`. */
  readonly openAt: (nowMs: number) => boolean
}

/** Alerta's severities, least to most severe; what is not listed ranks as unknown. */
const ranked = ["trace", "debug", "ok", "normal", "cleared", "informational", "indeterminate", "warning", "minor", "major", "critical", "security"]
const ranks = new Map(ranked.map((severity, rank) => [severity, rank]))

/** The rank of a severity; undefined for one alerta does not know (it passes every minimum). */
export const severityRank = (severity: string): number | undefined => ranks.get(severity)

export const isKnownSeverity = (severity: string): boolean => ranks.has(severity)

/** A state that is still something to act on: a warning or worse, or a severity we cannot rank. */
export const isFailing = (severity: string): boolean => {
  const rank = severityRank(severity)
  return rank === undefined || rank >= ranks.get("indeterminate")!
}

/** `*` any run of characters, `?` one character, everything else literal; the whole name must match. */
export const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    "^" + glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".") + "$",
    "s"
  )

/** Client and resource globs: receiver-level notifications have no client and match no client glob. */
const matchesWho = (
  who: { readonly client: RegExp | undefined; readonly resource: RegExp | undefined },
  notification: Notification
): boolean =>
  (who.client === undefined || (notification.client !== undefined && who.client.test(notification.client))) &&
  (who.resource === undefined || who.resource.test(notification.resource))

export const routeMatches = (route: CompiledRoute, notification: Notification): boolean => {
  if (!matchesWho(route, notification)) return false
  if (route.events !== undefined && !route.events.has(notification.event)) return false
  if (route.minRank !== undefined) {
    const rank = severityRank(notification.severity)
    if (rank !== undefined && rank < route.minRank) return false
  }
  return true
}

/** The index of the first route that matches; -1 when none does (the notification goes nowhere). */
export const firstRoute = (routes: ReadonlyArray<CompiledRoute>, notification: Notification): number => {
  for (let index = 0; index < routes.length; index++) {
    if (routeMatches(routes[index]!, notification)) return index
  }
  return -1
}

/**
 * Whether a repeat goes to a channel that does not take every repeat: only a still-failing state,
 * on a route with `renotify_every`, once that long has passed since it last went out.
 */
export const renotifyDue = (
  route: CompiledRoute,
  severity: string,
  lastSentMs: number | undefined,
  nowMs: number
): boolean =>
  route.renotifyEveryMs !== undefined && isFailing(severity) &&
  (lastSentMs === undefined || nowMs - lastSentMs >= route.renotifyEveryMs)

/** The first mute window that holds this notification back at `nowMs`, if any. */
export const mutedBy = (
  windows: ReadonlyArray<CompiledMute>,
  notification: Notification,
  nowMs: number
): CompiledMute | undefined => {
  for (const window of windows) {
    if (matchesWho(window, notification) && window.openAt(nowMs)) return window
  }
  return undefined
}

/** A one-off window: open from `fromMs` (inclusive) to `untilMs` (exclusive). */
export const oneOffWindow = (fromMs: number, untilMs: number) => (nowMs: number): boolean =>
  nowMs >= fromMs && nowMs < untilMs

/**
 * A recurring window: open for `durationMs` from each start that `previousStart` finds (the
 * latest start at or before a time, e.g. from a cron expression).
 */
export const recurringWindow = (previousStart: (nowMs: number) => number | undefined, durationMs: number) =>
(nowMs: number): boolean => {
  const start = previousStart(nowMs)
  return start !== undefined && nowMs - start < durationMs
}

/** Subscriptions by route name: who (beyond the channel's own `to`) a named route's e-mail channels deliver to. */
export type Subscribers = ReadonlyMap<string, ReadonlyArray<RouteSubscription>>

export const noSubscribers: Subscribers = new Map()

export const subscribersByRoute = (subscriptions: ReadonlyArray<RouteSubscription>): Subscribers => {
  const byRoute = new Map<string, Array<RouteSubscription>>()
  for (const subscription of subscriptions) {
    for (const route of new Set(subscription.routes)) {
      const list = byRoute.get(route)
      if (list === undefined) byRoute.set(route, [subscription])
      else list.push(subscription)
    }
  }
  return byRoute
}

/**
 * The addresses a notification that took `route` also goes to through its e-mail channels: each
 * subscriber whose clients cover the notification's client (a receiver-level notification, which
 * has no client, only to subscribers of every client). Each address once, in the users' order.
 */
export const subscriberAddresses = (subscribers: Subscribers, route: CompiledRoute, notification: Notification): ReadonlyArray<string> => {
  if (route.name === undefined || subscribers.size === 0) return []
  const subscribed = subscribers.get(route.name)
  if (subscribed === undefined) return []
  const addresses = new Set<string>()
  for (const subscription of subscribed) {
    const covered = notification.client === undefined ? subscription.scope.all : subscription.scope.covers(notification.client)
    if (covered) addresses.add(subscription.email)
  }
  return [...addresses]
}
