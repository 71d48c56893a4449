import { correlationOf, type EventName, Events, type Notification, type ReceiverIdentity } from "../domain/Notification.ts"
import type { Severity } from "../domain/Severity.ts"
import { defaultService, type ResourceProfile } from "./ResourceProfile.ts"

interface Details {
  readonly severity: Severity
  readonly value: string | number
  readonly text: string
  /** Seconds (60 x the timeout in minutes in use): only timeout, ok and comeback carry it. */
  readonly timeoutSeconds?: number
}

// config_exist / config_missing describe the receiver's bookkeeping, not the resource's service:
// the deployed receiver sends them as service "heartbeat" without environment or location, and
// alerta pairs them on that (SPEC 3.1).
const bookkeepingEvents: ReadonlySet<EventName> = new Set([Events.configExist, Events.configMissing])

// The events whose `attributes.timeout` says which timeout was in use; the others never carry it.
const timedEvents: ReadonlySet<EventName> = new Set([Events.timeout, Events.ok, Events.comeback])

/**
 * Builds a notification about one resource, field for field as the deployed receiver sends it
 * (SPEC 3.1's table): `correlate` holds the opposite event only; `environment` and
 * `attributes.location` when configured (never on config_exist/config_missing);
 * `attributes.timeout` on timeout, ok and comeback only.
 */
export const resourceNotification = (
  event: EventName,
  profile: ResourceProfile,
  receiver: ReceiverIdentity,
  details: Details
): Notification => {
  const correlate = correlationOf(event)
  const bookkeeping = bookkeepingEvents.has(event)
  const environment = bookkeeping ? undefined : profile.environment
  const location = bookkeeping ? undefined : profile.location
  const timeout = timedEvents.has(event) ? details.timeoutSeconds : undefined
  return {
    severity: details.severity,
    event,
    text: details.text,
    resource: profile.resource,
    service: bookkeeping ? defaultService : profile.service,
    group: profile.resource,
    value: details.value,
    origin: receiver.origin,
    client: profile.client,
    ...(environment === undefined ? {} : { environment }),
    ...(correlate === undefined ? {} : { correlate }),
    attributes: {
      receiver: receiver.name,
      ...(timeout === undefined ? {} : { timeout }),
      ...(location === undefined ? {} : { location })
    }
  }
}

/**
 * Builds a notification about the receiver itself: no client, resource and group are its name,
 * service "heartbeat", and no `attributes` key at all (as the deployed receiver sends them).
 */
export const receiverNotification = (
  event: EventName,
  receiver: ReceiverIdentity,
  details: Omit<Details, "timeoutSeconds">
): Notification => {
  const correlate = correlationOf(event)
  return {
    severity: details.severity,
    event,
    text: details.text,
    resource: receiver.name,
    service: defaultService,
    group: receiver.name,
    value: details.value,
    origin: receiver.origin,
    ...(correlate === undefined ? {} : { correlate })
  }
}

export const queueThresholdNotification = (receiver: ReceiverIdentity, backlog: number, threshold: number) =>
  receiverNotification(Events.queueThresholdReached, receiver, {
    severity: "critical",
    value: backlog,
    text: `Notification backlog on receiver ${receiver.name} reached ${backlog} (threshold ${threshold}): ` +
      `older notifications are coalesced, the latest state of every resource is kept`
  })
