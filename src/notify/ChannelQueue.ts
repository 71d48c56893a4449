import { type EventName, Events, type Notification } from "../domain/Notification.ts"

/** State changes always go before repeats; a repeat may be coalesced or shed, a state change never is. */
export type Lane = "change" | "repeat"

/** One notification waiting for one channel. */
export interface Outgoing {
  /** Stable across retries and restarts: channels that can carry an id use it to deduplicate. */
  readonly id: string
  readonly notification: Notification
  readonly lane: Lane
  /** Estimated memory of the entry (for the byte cap). */
  readonly bytes: number
  /** Failed attempts so far (carried over a restart). */
  attempts: number
  /** E-mail channels: users subscribed to the route it took (issue 18.3), beside the channel's own `to`. */
  readonly subscribers?: ReadonlyArray<string>
}

/**
 * Which state a notification speaks about: a newer one with the same group replaces an older one
 * (timeout / ok / comeback are one state, new / deregistered another, ...).
 */
const groupOf: Record<EventName, string> = {
  [Events.timeout]: "alive",
  [Events.ok]: "alive",
  [Events.comeback]: "alive",
  // A failed run (issue 19) is cleared by the next ok: the same state.
  [Events.fail]: "alive",
  [Events.new]: "known",
  [Events.deregistered]: "known",
  [Events.registered]: "registered",
  [Events.notRegistered]: "registered",
  [Events.configExist]: "config",
  [Events.configMissing]: "config",
  [Events.activityOk]: "activity",
  [Events.activityLost]: "activity",
  [Events.queueThresholdReached]: "queue",
  [Events.checkOk]: "check",
  [Events.checkWarning]: "check",
  [Events.checkCritical]: "check",
  [Events.checkUnknown]: "check"
}

/** The coalescing key: client, resource and the state the event is about. */
export const stateKeyOf = (notification: Notification): string =>
  `${notification.client ?? ""}\u0000${notification.resource}\u0000${groupOf[notification.event] ?? notification.event}`

/** The repeat key: client, resource and event (a newer repeat of the same event supersedes an older one). */
const repeatKeyOf = (notification: Notification): string =>
  `${notification.client ?? ""}\u0000${notification.resource}\u0000${notification.event}`

/**
 * An estimate of what an entry costs in memory, without serializing it (that would cost more than
 * queueing it): the strings it holds plus a fixed overhead for the objects around them.
 */
export const estimateBytes = (notification: Notification): number =>
  320 + notification.text.length + 2 * notification.resource.length + (notification.client?.length ?? 0) +
  notification.service.length + notification.origin.length + (notification.environment?.length ?? 0)

export interface ChannelQueueOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  /** The storm notification for a queue that holds `backlog` entries. */
  readonly stormNotification: (backlog: number) => Outgoing
  /** Told about every state change the queue drops (coalesced in a storm): it will never be sent. */
  readonly onDropped?: (entry: Outgoing) => void
}

export interface ChannelQueueCounters {
  readonly entries: number
  readonly bytes: number
  /** Repeats replaced by a newer repeat of the same event, or dropped past the cap. */
  readonly repeatsShed: number
  /** State changes replaced, during a storm, by a newer state of the same resource. */
  readonly changesCoalesced: number
  /** Storms so far (each sent one queue_threshold_reached). */
  readonly storms: number
  readonly storming: boolean
}

/**
 * A growable ring of entries with holes (coalesced entries become undefined). Push, shift and
 * clearing a slot are O(1); the array is compacted when the consumed head grows past half of it.
 */
class Deque<A> {
  items: Array<A | undefined> = []
  head = 0

  push(item: A): number {
    this.items.push(item)
    return this.items.length - 1 + this.offset
  }

  /** Positions handed out stay valid across compaction: `offset` counts the slots dropped before. */
  offset = 0

  at(position: number): A | undefined {
    return this.items[position - this.offset]
  }

  clear(position: number): void {
    this.items[position - this.offset] = undefined
  }

  set(position: number, item: A): void {
    this.items[position - this.offset] = item
  }

  shift(): { item: A; position: number } | undefined {
    while (this.head < this.items.length) {
      const index = this.head++
      const item = this.items[index]
      if (item === undefined) continue
      this.items[index] = undefined
      const position = index + this.offset
      this.compact()
      return { item, position }
    }
    this.compact()
    return undefined
  }

  private compact(): void {
    if (this.head === this.items.length && this.head > 0) {
      this.offset += this.head
      this.items = []
      this.head = 0
      return
    }
    if (this.head < 1024 || this.head < this.items.length / 2) return
    this.offset += this.head
    this.items = this.items.slice(this.head)
    this.head = 0
  }

  /** Live and dead slots from the head on, oldest first. */
  *entries(): IterableIterator<[number, A]> {
    for (let index = this.head; index < this.items.length; index++) {
      const item = this.items[index]
      if (item !== undefined) yield [index + this.offset, item]
    }
  }
}

/**
 * One channel's queue. State changes wait in order in their own lane, ahead of every repeat; the
 * repeat lane keeps one entry per (resource, event): a newer repeat takes the older one's place.
 *
 * Bounds (`maxEntries`, `maxBytes`): past either, the oldest repeats are shed first. If state
 * changes alone still exceed it, the queue turns into a storm queue: `queue_threshold_reached`
 * goes to the front (once per storm), and from then on a state change replaces the queued state
 * change of the same resource and state (so the latest state of every resource survives; a `new`
 * followed by `deregistered` of the same resource before either left cancels out). The storm ends
 * when the queue has drained below half of both caps.
 *
 * Every operation is O(1) amortised: entering a storm indexes the queued changes once, and at
 * least half a cap of entries must be pushed or sent between two storms.
 */
export class ChannelQueue {
  private readonly urgent: Array<Outgoing> = []
  private readonly changes = new Deque<Outgoing>()
  private readonly repeats = new Deque<Outgoing>()
  /** Position in `repeats` of the queued repeat of each (resource, event). */
  private readonly repeatIndex = new Map<string, number>()
  /** While storming: position in `changes` of the newest change of each (resource, state). */
  private stormIndex: Map<string, number> | undefined = undefined
  private entryCount = 0
  private byteCount = 0
  private repeatsShed = 0
  private changesCoalesced = 0
  private storms = 0
  private readonly options: ChannelQueueOptions

  constructor(options: ChannelQueueOptions) {
    this.options = options
  }

  get size(): number {
    return this.entryCount
  }

  get bytes(): number {
    return this.byteCount
  }

  counters(): ChannelQueueCounters {
    return {
      entries: this.entryCount,
      bytes: this.byteCount,
      repeatsShed: this.repeatsShed,
      changesCoalesced: this.changesCoalesced,
      storms: this.storms,
      storming: this.stormIndex !== undefined
    }
  }

  push(entry: Outgoing): void {
    if (entry.lane === "repeat") this.pushRepeat(entry)
    else this.pushChange(entry)
    this.enforceBounds()
  }

  /** The next entry to send: storm notice, then state changes in order, then repeats. */
  shift(): Outgoing | undefined {
    const urgent = this.urgent.shift()
    if (urgent !== undefined) return this.taken(urgent)
    const change = this.changes.shift()
    if (change !== undefined) {
      if (this.stormIndex !== undefined) {
        const key = stateKeyOf(change.item.notification)
        if (this.stormIndex.get(key) === change.position) this.stormIndex.delete(key)
      }
      return this.taken(change.item)
    }
    const repeat = this.repeats.shift()
    if (repeat !== undefined) {
      this.repeatIndex.delete(repeatKeyOf(repeat.item.notification))
      return this.taken(repeat.item)
    }
    return undefined
  }

  private taken(entry: Outgoing): Outgoing {
    this.remove(entry)
    if (
      this.stormIndex !== undefined && this.entryCount < this.options.maxEntries / 2 &&
      this.byteCount < this.options.maxBytes / 2
    ) {
      this.stormIndex = undefined
    }
    return entry
  }

  private add(entry: Outgoing): void {
    this.entryCount++
    this.byteCount += entry.bytes
  }

  private remove(entry: Outgoing): void {
    this.entryCount--
    this.byteCount -= entry.bytes
  }

  private pushRepeat(entry: Outgoing): void {
    const key = repeatKeyOf(entry.notification)
    const position = this.repeatIndex.get(key)
    const previous = position === undefined ? undefined : this.repeats.at(position)
    if (position !== undefined && previous !== undefined) {
      // Same place in line, newer content.
      this.repeats.set(position, entry)
      this.remove(previous)
      this.add(entry)
      this.repeatsShed++
      return
    }
    this.repeatIndex.set(key, this.repeats.push(entry))
    this.add(entry)
  }

  private pushChange(entry: Outgoing): void {
    if (this.stormIndex !== undefined) {
      const key = stateKeyOf(entry.notification)
      if (this.coalesce(key, entry)) return
      this.stormIndex.set(key, this.changes.push(entry))
    } else {
      this.changes.push(entry)
    }
    this.add(entry)
  }

  /** While storming: drops the queued change `entry` supersedes; true when both cancel out. */
  private coalesce(key: string, entry: Outgoing): boolean {
    const position = this.stormIndex!.get(key)
    if (position === undefined) return false
    const previous = this.changes.at(position)
    if (previous === undefined) return false
    this.changes.clear(position)
    this.stormIndex!.delete(key)
    this.remove(previous)
    this.changesCoalesced++
    this.options.onDropped?.(previous)
    if (previous.notification.event === Events.new && entry.notification.event === Events.deregistered) {
      this.changesCoalesced++
      this.options.onDropped?.(entry)
      return true
    }
    return false
  }

  private overCap(): boolean {
    return this.entryCount > this.options.maxEntries || this.byteCount > this.options.maxBytes
  }

  private enforceBounds(): void {
    while (this.overCap()) {
      const shed = this.repeats.shift()
      if (shed === undefined) break
      this.repeatIndex.delete(repeatKeyOf(shed.item.notification))
      this.remove(shed.item)
      this.repeatsShed++
    }
    if (this.overCap() && this.stormIndex === undefined) this.startStorm()
  }

  private startStorm(): void {
    const backlog = this.entryCount
    this.storms++
    const index = new Map<string, number>()
    this.stormIndex = index
    for (const [position, entry] of this.changes.entries()) {
      const key = stateKeyOf(entry.notification)
      if (this.coalesce(key, entry)) {
        this.changes.clear(position)
        this.remove(entry)
        continue
      }
      index.set(key, position)
    }
    const notice = this.options.stormNotification(backlog)
    this.urgent.push(notice)
    this.add(notice)
  }
}
