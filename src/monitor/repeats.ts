import type { Notification } from "../domain/Notification.ts"

/**
 * Marks a notification as a repeat: the same event the receiver already sent for the same state
 * (a timeout still stale, the periodic ok / registered / config_exist, activity unchanged). The
 * outbox sends repeats after every state change and may coalesce or shed them; an unmarked
 * notification is a state change and is never dropped.
 *
 * The mark is a non-enumerable symbol property: it never reaches the wire (JSON), equality checks
 * or a copy made with `{ ...notification }` (a copy is a state change: the safe direction).
 */
const repeatMark: unique symbol = Symbol.for("heartbeat-mesh/repeat")

export const asRepeat = (notification: Notification): Notification => {
  Object.defineProperty(notification, repeatMark, { value: true, enumerable: false })
  return notification
}

export const isRepeat = (notification: Notification): boolean =>
  (notification as { readonly [repeatMark]?: boolean })[repeatMark] === true
