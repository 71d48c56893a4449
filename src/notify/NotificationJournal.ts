import { Clock, Context, Effect, Layer } from "effect"
import type { Notification } from "../domain/Notification.ts"

export interface JournalEntry {
  /** Increases by one per notification since start: a stable cursor for paging. */
  readonly seq: number
  readonly atMs: number
  readonly notification: Notification
}

export interface JournalQuery {
  /** Only entries older than this sequence number (the previous page's last `seq`). */
  readonly before?: number | undefined
  readonly limit: number
  readonly client?: string | undefined
  readonly resource?: string | undefined
  /** Only clients this says yes to (a user's scope, issue 18.3). */
  readonly covers?: ((client: string) => boolean) | undefined
}

/**
 * The receiver's recent notifications, newest first, kept in a fixed-size ring (the oldest fall
 * off). Listeners (the live feed) hear each one as it is decided.
 */
export class NotificationJournal extends Context.Service<NotificationJournal, {
  readonly record: (notification: Notification) => void
  readonly recent: (query: JournalQuery) => ReadonlyArray<JournalEntry>
  readonly subscribe: (listener: (entry: JournalEntry) => void) => () => void
}>()("heartbeat-mesh/notify/NotificationJournal") {}

export const layerNotificationJournal = (capacity = 10_000) =>
  Layer.effect(
    NotificationJournal,
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const ring: Array<JournalEntry | undefined> = new Array(capacity)
      const listeners = new Set<(entry: JournalEntry) => void>()
      let nextSeq = 1

      const record = (notification: Notification) => {
        const entry = { seq: nextSeq, atMs: clock.currentTimeMillisUnsafe(), notification }
        ring[nextSeq % capacity] = entry
        nextSeq++
        for (const listener of listeners) listener(entry)
      }

      const recent = (query: JournalQuery) => {
        const found: Array<JournalEntry> = []
        const newest = Math.min(nextSeq - 1, (query.before ?? nextSeq) - 1)
        for (let seq = newest; seq > 0 && seq > nextSeq - 1 - capacity && found.length < query.limit; seq--) {
          const entry = ring[seq % capacity]
          if (entry === undefined || entry.seq !== seq) break
          if (query.client !== undefined && entry.notification.client !== query.client) continue
          if (query.resource !== undefined && entry.notification.resource !== query.resource) continue
          if (query.covers !== undefined && !query.covers(entry.notification.client ?? "")) continue
          found.push(entry)
        }
        return found
      }

      return NotificationJournal.of({
        record,
        recent,
        subscribe: (listener) => {
          listeners.add(listener)
          return () => listeners.delete(listener)
        }
      })
    })
  )
