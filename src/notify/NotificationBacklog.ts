import type { Notification } from "../domain/Notification.ts"

/** Notifications that are about the same thing: a newer one makes an older one obsolete. */
const coalescingKey = (notification: Notification): string =>
  `${notification.event}\u0000${notification.client ?? ""}\u0000${notification.resource}`

/**
 * The queue between the monitor and the notifier, in send order.
 *
 * Normally every notification is kept (repeats are deliberate, SPEC 3). When the backlog reaches
 * the threshold it turns into a storm backlog: the threshold event jumps to the front, and from then
 * on only the newest notification per (event, client, resource) is kept, moved to the back so the
 * order of a resource's transitions survives (timeout, ok, timeout leaves ok, timeout). It returns
 * to keeping everything once the backlog has drained below half the threshold.
 */
export class NotificationBacklog {
  // A deque: `items[head..]` are queued; superseded entries become undefined (tombstones).
  private items: Array<Notification | undefined> = []
  private head = 0
  private live = 0
  /** Present only while shedding: where the newest notification of each key sits in `items`. */
  private positions: Map<string, number> | undefined = undefined
  private shedTotal = 0

  private readonly threshold: number
  private readonly thresholdNotification: (backlog: number) => Notification

  constructor(threshold: number, thresholdNotification: (backlog: number) => Notification) {
    this.threshold = threshold
    this.thresholdNotification = thresholdNotification
  }

  get size(): number {
    return this.live
  }

  get shedding(): boolean {
    return this.positions !== undefined
  }

  /** How many notifications have been dropped as superseded since start. */
  get shedCount(): number {
    return this.shedTotal
  }

  push(notification: Notification): void {
    if (this.positions !== undefined) {
      this.supersede(coalescingKey(notification))
      this.positions.set(coalescingKey(notification), this.items.length)
    }
    this.items.push(notification)
    this.live++
    if (this.positions === undefined && this.live >= this.threshold) this.startShedding()
  }

  shift(): Notification | undefined {
    while (this.head < this.items.length) {
      const index = this.head++
      const notification = this.items[index]
      if (notification === undefined) continue
      this.items[index] = undefined
      this.live--
      if (this.positions !== undefined) {
        const key = coalescingKey(notification)
        if (this.positions.get(key) === index) this.positions.delete(key)
        if (this.live < this.threshold / 2) this.positions = undefined
      }
      this.compactIfMostlyConsumed()
      return notification
    }
    return undefined
  }

  private supersede(key: string): void {
    const previous = this.positions?.get(key)
    if (previous !== undefined && this.items[previous] !== undefined) {
      this.items[previous] = undefined
      this.live--
      this.shedTotal++
    }
  }

  private startShedding(): void {
    const backlog = this.live
    const queued = this.items.slice(this.head).filter((item) => item !== undefined)
    this.items = []
    this.head = 0
    this.live = 0
    this.positions = new Map()
    this.items.push(this.thresholdNotification(backlog))
    this.live++
    for (const notification of queued) {
      this.supersede(coalescingKey(notification))
      this.positions.set(coalescingKey(notification), this.items.length)
      this.items.push(notification)
      this.live++
    }
  }

  private compactIfMostlyConsumed(): void {
    if (this.head < 1024 || this.head < this.items.length / 2) return
    const shift = this.head
    this.items = this.items.slice(shift)
    this.head = 0
    if (this.positions !== undefined) {
      for (const [key, index] of this.positions) this.positions.set(key, index - shift)
    }
  }
}
