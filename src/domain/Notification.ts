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
  queueThresholdReached: "heartbeat_mesh_receiver_queue_threshold_reached"
} as const

export const EventName = Schema.Literals(Object.values(Events))
export type EventName = typeof EventName.Type

/**
 * Pairs that alerta correlates: an alert raised by one is cleared by the other.
 * Both members carry the same list; new, comeback, deregistered and the queue event carry none.
 */
const correlatedPairs: ReadonlyArray<readonly [EventName, EventName]> = [
  [Events.timeout, Events.ok],
  [Events.registered, Events.notRegistered],
  [Events.configExist, Events.configMissing],
  [Events.activityOk, Events.activityLost]
]

export const correlationOf = (event: EventName): ReadonlyArray<EventName> | undefined =>
  correlatedPairs.find((pair) => pair.includes(event))

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
  attributes: NotificationAttributes
})
export type Notification = typeof Notification.Type

/** Who is speaking in receiver-level notifications and `attributes.receiver`. */
export interface ReceiverIdentity {
  readonly name: string
  readonly origin: string
}

export const defaultOrigin = "heartbeat_mesh/receiver"
