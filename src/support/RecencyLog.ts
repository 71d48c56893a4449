/**
 * Items in the order they were last appended (a "most recently touched" order), where moving an
 * item to the newest end costs O(1): the old place is blanked and the item appended. The log is a
 * linked list of chunks; a chunk left less than half full is compacted, and merged with its
 * older neighbour when both fit in half a chunk, so blanks stay bounded. Every append gets the
 * next sequence number, which is also the cursor a reader resumes from.
 *
 * Items carry their own place (`logChunk`, `logSlot`, `logSeq`): one item is in at most one log.
 */
export interface LogMember {
  logChunk: unknown
  logSlot: number
  logSeq: number
}

interface Chunk<T> {
  readonly owner: RecencyLog<T & LogMember>
  /** Allocated once at full size (no growing copies); slots from `used` on are free. */
  readonly items: Array<T | undefined>
  used: number
  live: number
  /** Bounds of the sequence numbers in the chunk (appended ones raise `lastSeq`). */
  firstSeq: number
  lastSeq: number
  older: Chunk<T> | undefined
  newer: Chunk<T> | undefined
}

const chunkSize = 1024

export type Direction = "newest" | "oldest"

export class RecencyLog<T extends LogMember> {
  private oldest: Chunk<T> | undefined = undefined
  private newest: Chunk<T> | undefined = undefined
  private nextSeq = 1
  private count = 0
  private chunks = 0

  get size(): number {
    return this.count
  }

  /** Chunks in the list (tests check that blanks stay bounded). */
  get chunkCount(): number {
    return this.chunks
  }

  has(item: T): boolean {
    return (item.logChunk as Chunk<T> | undefined)?.owner === this
  }

  /** Appends `item` as the newest (it must not be in a log). */
  append(item: T): void {
    let chunk = this.newest
    if (chunk === undefined || chunk.used >= chunkSize) {
      chunk = { owner: this, items: new Array(chunkSize).fill(undefined), used: 0, live: 0, firstSeq: this.nextSeq, lastSeq: this.nextSeq, older: this.newest, newer: undefined }
      if (this.newest !== undefined) this.newest.newer = chunk
      else this.oldest = chunk
      this.newest = chunk
      this.chunks++
    }
    item.logChunk = chunk
    item.logSlot = chunk.used
    item.logSeq = this.nextSeq++
    chunk.lastSeq = item.logSeq
    chunk.items[chunk.used++] = item
    chunk.live++
    this.count++
  }

  /** Takes `item` out; false when it is not in this log. */
  remove(item: T): boolean {
    const chunk = item.logChunk as Chunk<T> | undefined
    if (chunk === undefined || chunk.owner !== this) return false
    chunk.items[item.logSlot] = undefined
    chunk.live--
    item.logChunk = undefined
    this.count--
    if (chunk.live === 0) {
      this.unlink(chunk)
    } else if (chunk.live * 2 < chunk.used && chunk !== this.newest) {
      this.compact(chunk)
    }
    return true
  }

  /** Moves `item` to the newest end (appends it when it was in no log). */
  touch(item: T): void {
    this.remove(item)
    this.append(item)
  }

  /**
   * Calls `visit` on the items from the `direction` end on, skipping the first `offset`, until
   * it returns false. The log must not change during the walk.
   */
  forEachFrom(direction: Direction, offset: number, visit: (item: T) => boolean): void {
    let rest = offset
    let chunk = direction === "newest" ? this.newest : this.oldest
    while (chunk !== undefined && rest >= chunk.live) {
      rest -= chunk.live
      chunk = direction === "newest" ? chunk.older : chunk.newer
    }
    this.walk(direction, chunk, rest, undefined, visit)
  }

  /**
   * Calls `visit` on the items after sequence number `after` in the walk's direction (older ones
   * for "newest", newer ones for "oldest"), until it returns false.
   */
  forEachAfter(direction: Direction, after: number, visit: (item: T) => boolean): void {
    let chunk = direction === "newest" ? this.newest : this.oldest
    if (direction === "newest") {
      while (chunk !== undefined && chunk.firstSeq >= after) chunk = chunk.older
    } else {
      while (chunk !== undefined && chunk.lastSeq <= after) chunk = chunk.newer
    }
    this.walk(direction, chunk, 0, after, visit)
  }

  private walk(direction: Direction, from: Chunk<T> | undefined, skip: number, after: number | undefined, visit: (item: T) => boolean): void {
    let rest = skip
    for (let chunk = from; chunk !== undefined; chunk = direction === "newest" ? chunk.older : chunk.newer) {
      const items = chunk.items
      if (direction === "newest") {
        for (let i = chunk.used - 1; i >= 0; i--) {
          const item = items[i]
          if (item === undefined || (after !== undefined && item.logSeq >= after)) continue
          if (rest > 0) {
            rest--
            continue
          }
          if (!visit(item)) return
        }
      } else {
        for (let i = 0; i < chunk.used; i++) {
          const item = items[i]
          if (item === undefined || (after !== undefined && item.logSeq <= after)) continue
          if (rest > 0) {
            rest--
            continue
          }
          if (!visit(item)) return
        }
      }
    }
  }

  private unlink(chunk: Chunk<T>): void {
    if (chunk.older !== undefined) chunk.older.newer = chunk.newer
    else this.oldest = chunk.newer
    if (chunk.newer !== undefined) chunk.newer.older = chunk.older
    else this.newest = chunk.older
    this.chunks--
  }

  /**
   * Drops the blanks of a chunk (in place), then merges it with an older or newer neighbour
   * (never the newest, which takes the appends) when the two fit in half a chunk.
   */
  private compact(chunk: Chunk<T>): void {
    this.pack(chunk)
    let current = chunk
    const older = current.older
    if (older !== undefined && older.live + current.live <= chunkSize / 2) {
      this.merge(older, current)
      current = older
    }
    const newer = current.newer
    if (newer !== undefined && newer !== this.newest && newer.live + current.live <= chunkSize / 2) {
      this.merge(current, newer)
    }
  }

  /** Moves the items of `newer` to the end of `older` (its neighbour) and drops `newer`. */
  private merge(older: Chunk<T>, newer: Chunk<T>): void {
    this.pack(older)
    for (let i = 0; i < newer.used; i++) {
      const item = newer.items[i]
      if (item === undefined) continue
      item.logChunk = older
      item.logSlot = older.used
      older.items[older.used++] = item
      older.live++
    }
    older.lastSeq = newer.lastSeq
    this.unlink(newer)
  }

  /** Moves the live items of `chunk` to its front, in order. */
  private pack(chunk: Chunk<T>): void {
    const items = chunk.items
    let kept = 0
    for (let i = 0; i < chunk.used; i++) {
      const item = items[i]
      if (item === undefined) continue
      item.logSlot = kept
      items[kept++] = item
    }
    for (let i = kept; i < chunk.used; i++) items[i] = undefined
    chunk.used = kept
    if (kept > 0) chunk.firstSeq = items[0]!.logSeq
  }
}
