/**
 * Pure rules for the checks senders report (issue 20): what level each check of a resource has
 * after a heartbeat, when a check that is no longer reported becomes unknown, which level changes
 * and rare-check repeats become notifications. `(state, input, now) -> (state, transitions)`; the
 * effectful shell (`src/checkAlerts/CheckAlerts.ts`, on the change stream) only keeps the state and sends.
 */
import { type Check, type Level, levelOf, levels, type Sample, samplesOf, type ThresholdTable, thresholdFor } from "../checks/thresholds.ts"
import { Events, type EventName, type Notification, type ReceiverIdentity } from "../domain/Notification.ts"
import { resourceNotification } from "./notifications.ts"
import { asRepeat } from "./repeats.ts"
import type { ResourceProfile } from "./ResourceProfile.ts"

/** Most checks kept per resource; the rest of a heartbeat's checks are dropped (and counted by the caller). */
export const maxChecksPerResource = 200
/** Longest check name and text kept. */
export const maxCheckKeyLength = 200
export const maxCheckTextLength = 500

export interface CheckState extends Check {
  /** Who decided the level: the receiver's own threshold, or the sender's. */
  readonly source: "receiver" | "sender"
  /** When the check was last in a heartbeat. */
  readonly reportedAtMs: number
  /** When its level last changed. */
  readonly sinceMs: number
}

export type ResourceChecks = ReadonlyMap<string, CheckState>

export const noChecks: ResourceChecks = new Map()

/** A level change (`from` undefined: a check seen for the first time), or a rare-check repeat (`from` === `to`). */
export interface CheckTransition {
  readonly key: string
  readonly from: Level | undefined
  readonly check: CheckState
}

export interface ChecksStep {
  readonly checks: ResourceChecks
  readonly transitions: ReadonlyArray<CheckTransition>
  /** Checks of the heartbeat that were dropped: malformed, or over `maxChecksPerResource`. */
  readonly dropped: number
}

const levelSet: ReadonlySet<unknown> = new Set(levels)
// eslint-disable-next-line no-control-regex
const unusableKey = /[\u0000-\u001f\u007f]/

/** `payload.checks` as the sender put it, each entry checked; a malformed one is dropped. */
export const senderChecksOf = (payload: unknown): { checks: Map<string, Check>; dropped: number } => {
  const checks = new Map<string, Check>()
  let dropped = 0
  const raw = payload !== null && typeof payload === "object" ? (payload as { checks?: unknown }).checks : undefined
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { checks, dropped }
  for (const [key, entry] of Object.entries(raw)) {
    const { level, value, text } = (entry ?? {}) as { level?: unknown; value?: unknown; text?: unknown }
    if (
      key === "" || key.length > maxCheckKeyLength || unusableKey.test(key) || !levelSet.has(level) ||
      typeof value !== "number" || !Number.isFinite(value)
    ) {
      dropped++
      continue
    }
    checks.set(key, { level: level as Level, value, text: typeof text === "string" ? text.slice(0, maxCheckTextLength) : "" })
  }
  return { checks, dropped }
}

const describe = (key: string, value: number, level: Level) => `${key} = ${Math.round(value * 100) / 100} (${level.toUpperCase()}, receiver threshold)`

/**
 * A heartbeat arrived with `payload`. Each check takes the level of the receiver's threshold for it
 * when `table` has one (evaluated on the metric, or on the sender's value, with hysteresis from the
 * check's last level), else the sender's level. Metrics without a check get one when the receiver
 * has a threshold for them. Checks the heartbeat does not mention keep their state (they expire).
 */
export const receiveChecks = (previous: ResourceChecks, payload: unknown, table: ThresholdTable, nowMs: number): ChecksStep => {
  const sent = senderChecksOf(payload)
  const metrics = payload !== null && typeof payload === "object" ? (payload as { metrics?: unknown }).metrics : undefined
  const samples: Map<string, Sample> = Object.keys(table).length === 0 ? new Map() : samplesOf(metrics, 2 * maxChecksPerResource)
  const keys = new Set([...sent.checks.keys(), ...samples.keys()])
  const next = new Map(previous)
  const transitions: Array<CheckTransition> = []
  let dropped = sent.dropped
  for (const key of keys) {
    const before = previous.get(key)
    if (before === undefined && next.size >= maxChecksPerResource) {
      if (sent.checks.has(key)) dropped++
      continue
    }
    const rule = thresholdFor(table, key)
    const fromSender = sent.checks.get(key)
    let check: Check & { source: CheckState["source"] }
    if (rule !== undefined) {
      if (!rule.enabled) {
        next.delete(key)
        continue
      }
      const sample = samples.get(key) ?? (fromSender === undefined ? undefined : { value: fromSender.value, text: fromSender.text })
      if (sample === undefined) continue
      const level = levelOf(rule, sample.value, before?.level)
      check = { level, value: sample.value, text: sample.text ?? describe(key, sample.value, level), source: "receiver" }
    } else if (fromSender !== undefined) {
      check = { ...fromSender, source: "sender" }
    } else {
      continue
    }
    const state: CheckState = { ...check, reportedAtMs: nowMs, sinceMs: before !== undefined && before.level === check.level ? before.sinceMs : nowMs }
    next.set(key, state)
    if (before?.level !== check.level && !(before === undefined && check.level === "ok")) {
      transitions.push({ key, from: before?.level, check: state })
    }
  }
  return { checks: next, transitions, dropped }
}

/**
 * Checks not reported for `staleAfterMs` (the resource's timeout and jitter: the age at which the
 * resource itself is stale) become `unknown`: once, when they reach that age.
 */
export const expireChecks = (previous: ResourceChecks, staleAfterMs: number, nowMs: number): ChecksStep => {
  let next: Map<string, CheckState> | undefined
  const transitions: Array<CheckTransition> = []
  for (const [key, check] of previous) {
    if (check.level === "unknown" || nowMs - check.reportedAtMs < staleAfterMs) continue
    next ??= new Map(previous)
    const ageSeconds = Math.round((nowMs - check.reportedAtMs) / 1000)
    const state: CheckState = { ...check, level: "unknown", text: `not reported for ${ageSeconds} s (last: ${check.text})`, sinceMs: nowMs }
    next.set(key, state)
    transitions.push({ key, from: check.level, check: state })
  }
  return { checks: next ?? previous, transitions, dropped: 0 }
}

/** The earliest time a check of this resource can expire, or undefined when none can. */
export const nextExpiry = (checks: ResourceChecks, staleAfterMs: number): number | undefined => {
  let earliest: number | undefined
  for (const check of checks.values()) {
    if (check.level === "unknown") continue
    const at = check.reportedAtMs + staleAfterMs
    if (earliest === undefined || at < earliest) earliest = at
  }
  return earliest
}

/** Rare check: every check that is not ok is said again (alerta keeps the alert alive), level unchanged. */
export const repeatChecks = (checks: ResourceChecks): Array<CheckTransition> =>
  [...checks].filter(([, check]) => check.level !== "ok").map(([key, check]) => ({ key, from: check.level, check }))

const eventOf: Record<Level, EventName> = {
  ok: Events.checkOk,
  warning: Events.checkWarning,
  critical: Events.checkCritical,
  unknown: Events.checkUnknown
}

/**
 * The notification of a transition or repeat: event by level, severity = level (alerta knows ok,
 * warning, critical and unknown), resource `<resource>:<check>` so alerta keeps one alert per check,
 * value the check's value, text the check's text.
 */
export const checkNotification = (transition: CheckTransition, profile: ResourceProfile, receiver: ReceiverIdentity): Notification => {
  const { check, key } = transition
  const notification = resourceNotification(eventOf[check.level], profile, receiver, {
    severity: check.level,
    value: check.value,
    text: `${profile.resource} ${key}: ${check.text}`
  })
  const named = { ...notification, resource: `${profile.resource}:${key}` }
  // The same level again (a rare-check repeat) is a repeat for the outbox; a new level a state change.
  return transition.from === check.level ? asRepeat(named) : named
}
