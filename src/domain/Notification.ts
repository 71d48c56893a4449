import { Schema } from "effect"
import { Severity } from "./Severity.ts"

/** Every event the receiver raises (SPEC 3), by its wire name. */
export const Events = {
  activityOk: "heartbeat_mesh_receiver_activity_ok",
  activityLost: "heartbeat_mesh_receiver_activity_lost",
  timeout: "heartbeat_mesh_heartbeat_timeout",
  ok: "heartbeat_mesh_heartbeat_ok",
  comeback: "heartbeat_mesh_heartbeat_comeback",
  new: "heartbeat_mesh_heartbeat_new",
  deregistered: "heartbeat_mesh_heartbeat_deregistered",
  registered: "heartbeat_mesh_heartbeat_registered",
  notRegistered: "heartbeat_mesh_heartbeat_not_registered",
  configExist: "heartbeat_mesh_heartbeat_config_exist",
  configMissing: "heartbeat_mesh_heartbeat_config_missing",
  // A run reported failing (HTTP ping /fail or a non-zero exit code, issue 19).
  fail: "heartbeat_mesh_heartbeat_fail",
  queueThresholdReached: "heartbeat_mesh_receiver_queue_threshold_reached",
  // Checks reported by senders' plugins (issue 20); resource `<resource>:<check>`.
  checkOk: "heartbeat_mesh_check_ok",
  checkWarning: "heartbeat_mesh_check_warning",
  checkCritical: "heartbeat_mesh_check_critical",
  checkUnknown: "heartbeat_mesh_check_unknown"
} as const

export const EventName = Schema.Literals(Object.values(Events))
export type EventName = typeof EventName.Type

/**
 * Pairs that alerta correlates: an alert raised by one is cleared by the other. Each member's
 * `correlate` names only the other one, as the deployed receiver sends it (SPEC 3.1); new,
 * comeback, deregistered and the queue event carry none.
 */
const correlatedPairs: ReadonlyArray<readonly [EventName, EventName]> = [
  [Events.timeout, Events.ok],
  [Events.registered, Events.notRegistered],
  [Events.configExist, Events.configMissing],
  [Events.activityOk, Events.activityLost]
]

// A check's four events correlate with each other: each level replaces the alert of the others.
const checkEvents: ReadonlyArray<EventName> = [Events.checkOk, Events.checkWarning, Events.checkCritical, Events.checkUnknown]

const opposites: ReadonlyMap<EventName, ReadonlyArray<EventName>> = new Map<EventName, ReadonlyArray<EventName>>([
  ...correlatedPairs.flatMap(([a, b]): Array<[EventName, ReadonlyArray<EventName>]> => [[a, [b]], [b, [a]]]),
  ...checkEvents.map((event): [EventName, ReadonlyArray<EventName>] => [event, checkEvents.filter((other) => other !== event)]),
  // A failed run is cleared by the next ok; ok keeps its deployed correlate (timeout only).
  [Events.fail, [Events.ok]]
])

/** The `correlate` list of an event: its paired opposite only, or undefined when it has none. */
export const correlationOf = (event: EventName): ReadonlyArray<EventName> | undefined => opposites.get(event)

export const NotificationAttributes = Schema.Struct({
  receiver: Schema.String,
  timeout: Schema.optionalKey(Schema.Number),
  location: Schema.optionalKey(Schema.String)
})

/** One alerta-style notification, as notify_devilry reads it on stdin (SPEC 3.1). */
export const Notification = Schema.Struct({
  severity: Severity,
  event: EventName,
  text: Schema.String,
  resource: Schema.String,
  service: Schema.String,
  group: Schema.String,
  value: Schema.Union([Schema.String, Schema.Number]),
  origin: Schema.String,
  client: Schema.optionalKey(Schema.String),
  environment: Schema.optionalKey(Schema.String),
  correlate: Schema.optionalKey(Schema.Array(EventName)),
  /** On resource events only: receiver-level events carry no `attributes` key (SPEC 3.1). */
  attributes: Schema.optionalKey(NotificationAttributes)
})
export type Notification = typeof Notification.Type

/** Who is speaking in receiver-level notifications and `attributes.receiver`. */
export interface ReceiverIdentity {
  readonly name: string
  readonly origin: string
}

/** The deployed receiver's `origin`, which alerta rules and dashboards match on (SPEC 3.1). */
export const defaultOrigin = "heartbeat_mesh/receiver.py"
