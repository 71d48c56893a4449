import { correlationOf, type EventName, Events, type Notification, type ReceiverIdentity } from "../domain/Notification.ts"
import type { Severity } from "../domain/Severity.ts"
import { defaultService, type ResourceProfile } from "./ResourceProfile.ts"

interface Details {
  readonly severity: Severity
  readonly value: string | number
  readonly text: string
  /** Seconds, on events where a heartbeat timeout applies. */
  readonly timeoutSeconds?: number
}

/** Builds a notification about one resource, with the fields notify_devilry and alerta read. */
export const resourceNotification = (
  event: EventName,
  profile: ResourceProfile,
  receiver: ReceiverIdentity,
  details: Details
): Notification => {
  const correlate = correlationOf(event)
  return {
    severity: details.severity,
    event,
    text: details.text,
    resource: profile.resource,
    service: profile.service,
    group: profile.resource,
    value: details.value,
    origin: receiver.origin,
    client: profile.client,
    ...(profile.environment === undefined ? {} : { environment: profile.environment }),
    ...(correlate === undefined ? {} : { correlate }),
    attributes: {
      receiver: receiver.name,
      ...(details.timeoutSeconds === undefined ? {} : { timeout: details.timeoutSeconds }),
      ...(profile.location === undefined ? {} : { location: profile.location })
    }
  }
}

/** Builds a notification about the receiver itself: no client, resource and group are its name. */
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
    ...(correlate === undefined ? {} : { correlate }),
    attributes: { receiver: receiver.name }
  }
}

export const queueThresholdNotification = (receiver: ReceiverIdentity, backlog: number, threshold: number) =>
  receiverNotification(Events.queueThresholdReached, receiver, {
    severity: "critical",
    value: backlog,
    text: `Notification backlog on receiver ${receiver.name} reached ${backlog} (threshold ${threshold}): ` +
      `older notifications are coalesced, the latest state of every resource is kept`
  })
