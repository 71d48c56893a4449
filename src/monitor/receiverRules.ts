import { type EventName, Events, type Notification } from "../domain/Notification.ts"
import { inGrace, type MonitorMoment, receiverIsActive } from "./MonitorMoment.ts"
import { receiverNotification } from "./notifications.ts"
import { asRepeat } from "./repeats.ts"

/**
 * Every check after the grace period: is the receiver still hearing anybody? The same answer as
 * the check before (`previous`: the event sent then) is a repeat; a different one, or the first,
 * is a state change.
 */
export const activityCheck = (moment: MonitorMoment, previous?: EventName): Notification | undefined => {
  if (inGrace(moment)) return undefined
  const windowSeconds = (moment.timing.checkIntervalMs + moment.timing.jitterMs) / 1000
  const notification = receiverIsActive(moment)
    ? receiverNotification(Events.activityOk, moment.receiver, {
      severity: "ok",
      value: "ok",
      text: `Receiver ${moment.receiver.name} is receiving heartbeats`
    })
    : receiverNotification(Events.activityLost, moment.receiver, {
      severity: "warning",
      value: "lost",
      text: `Receiver ${moment.receiver.name} has received no heartbeat for ${windowSeconds} s; ` +
        `per-resource timeouts are held back until heartbeats arrive again`
    })
  return notification.event === previous ? asRepeat(notification) : notification
}
