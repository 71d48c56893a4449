import { describe, expect, it } from "vitest"
import { CountedTree } from "../src/support/CountedTree.ts"
import { naturalCompare } from "../src/support/naturalOrder.ts"
import { type LogMember, RecencyLog } from "../src/support/RecencyLog.ts"

/** A small seeded generator: the same sequence on every run. */
const seeded = (seed: number) => {
  let state = seed >>> 0
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % below
  }
}

describe("natural order", () => {
  it.each([
    ["web2", "web10", -1],
    ["web10", "web2", 1],
    ["web2", "web2", 0],
    ["Web2", "web10", -1],
    ["web1", "Web1", 1], // equal but for case: upper case first, by code unit
    ["web1", "web01", -1], // equal numbers: fewer leading zeros first
    ["web", "web1", -1],
    ["host-9.example.com", "host-10.example.com", -1],
    ["a9b", "a10a", -1],
    ["10.0.0.9", "10.0.0.10", -1],
    ["db", "DB-1", -1],
    ["x99999999999999999999", "x100000000000000000000", -1], // longer than any safe integer
    ["_a", "1a", 1], // '_' (95) sorts after digits, '-' (45) before
    ["-a", "1a", -1],
    ["", "a", -1],
    ["é", "e", 1]
  ])("%s vs %s: %i", (a, b, sign) => {
    expect(Math.sign(naturalCompare(a, b))).toBe(sign)
    expect(Math.sign(naturalCompare(b, a))).toBe(sign === 0 ? 0 : -sign)
  })

  it("is a total order: sorting any permutation gives one result, and 0 only for the same string", () => {
    const names = ["web10", "web2", "Web2", "web02", "web1", "web", "web1a", "web1A", "a", "A", "10", "9", "09", "x-1", "x_1", "x1", "db01.b", "db1.a", ""]
    const random = seeded(7)
    const sorted = [...names].sort(naturalCompare)
    expect(sorted).toEqual(["", "9", "09", "10", "A", "a", "db1.a", "db01.b", "web", "web1", "web1A", "web1a", "Web2", "web2", "web02", "web10", "x-1", "x1", "x_1"])
    for (let round = 0; round < 50; round++) {
      const shuffled = [...names]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = random(i + 1)
        ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
      }
      expect(shuffled.sort(naturalCompare)).toEqual(sorted)
    }
    for (const a of names) for (const b of names) expect(naturalCompare(a, b) === 0).toBe(a === b)
  })
})

interface Item {
  readonly group: number
  readonly name: string
}
const compareItems = (a: Item, b: Item) => a.group - b.group || naturalCompare(a.name, b.name)

describe("counted tree", () => {
  it("keeps order, sizes and positions through random inserts and removals (against a sorted array)", () => {
    const random = seeded(42)
    const tree = new CountedTree<Item, Item>(compareItems, (item) => ({ group: item.group, name: item.name }))
    const model: Array<Item> = []
    const present = new Map<string, Item>()
    for (let step = 0; step < 30_000; step++) {
      const group = random(4)
      const name = `host${random(3000)}`
      const id = `${group}/${name}`
      const existing = present.get(id)
      // Grow for a while, then shrink, so that both splits and merges happen at every level.
      const removing = step > 20_000 ? random(10) < 8 : random(10) < 3
      if (existing !== undefined && removing) {
        expect(tree.remove(existing)).toBe(true)
        present.delete(id)
        model.splice(model.indexOf(existing), 1)
      } else if (existing === undefined) {
        const item = { group, name }
        tree.insert(item)
        present.set(id, item)
        model.push(item)
      }
      if (step % 1000 === 999) {
        model.sort(compareItems)
        expect(tree.size).toBe(model.length)
        expect(tree.toArray()).toEqual(model)
        for (let probe = 0; probe < 20 && model.length > 0; probe++) {
          const offset = random(model.length)
          const position = tree.at(offset)!
          expect(position.leaf.items[position.index]).toBe(model[offset])
          const target = model[offset]!
          expect(tree.countBefore((key) => compareItems(key, target) < 0)).toBe(offset)
          expect(tree.countBefore((key) => key.group < target.group)).toBe(model.findIndex((item) => item.group >= target.group))
        }
      }
    }
    expect(tree.remove({ group: 9, name: "absent" })).toBe(false)
  })

  it("walks on from a position across leaves", () => {
    const tree = new CountedTree<Item, Item>(compareItems, (item) => ({ ...item }))
    for (let i = 0; i < 1000; i++) tree.insert({ group: 0, name: `n${i}` })
    const seen: Array<string> = []
    tree.forEachFrom(995, (item) => {
      seen.push(item.name)
      return true
    })
    expect(seen).toEqual(["n995", "n996", "n997", "n998", "n999"])
    const firstThree: Array<string> = []
    tree.forEachFrom(500, (item) => firstThree.push(item.name) < 3)
    expect(firstThree).toEqual(["n500", "n501", "n502"])
    expect(tree.at(1000)).toBeUndefined()
  })
})

interface Touched extends LogMember {
  readonly id: number
}

describe("recency log", () => {
  const member = (id: number): Touched => ({ id, logChunk: undefined, logSlot: 0, logSeq: 0 })
  const walk = (log: RecencyLog<Touched>, direction: "newest" | "oldest", offset = 0) => {
    const ids: Array<number> = []
    log.forEachFrom(direction, offset, (item) => ids.push(item.id) > 0)
    return ids
  }

  it("orders by last touch, both ways, with offsets and resumable cursors (against a model)", () => {
    const random = seeded(3)
    const log = new RecencyLog<Touched>()
    const items = Array.from({ length: 5000 }, (_, id) => member(id))
    const model: Array<number> = [] // oldest first
    for (let step = 0; step < 60_000; step++) {
      const item = items[random(items.length)]!
      if (random(20) === 0) {
        if (log.remove(item)) model.splice(model.indexOf(item.id), 1)
      } else {
        log.touch(item)
        const at = model.indexOf(item.id)
        if (at >= 0) model.splice(at, 1)
        model.push(item.id)
      }
      if (step % 5000 === 4999) {
        expect(log.size).toBe(model.length)
        expect(walk(log, "oldest")).toEqual(model)
        expect(walk(log, "newest")).toEqual([...model].reverse())
        const offset = random(model.length)
        expect(walk(log, "newest", offset)).toEqual([...model].reverse().slice(offset))
        expect(walk(log, "oldest", offset)).toEqual(model.slice(offset))
        // Resuming after an item gives what follows it, in either direction.
        const pivot = items[model[offset]!]!
        const older: Array<number> = []
        log.forEachAfter("newest", pivot.logSeq, (item) => older.push(item.id) > 0)
        expect(older).toEqual(model.slice(0, offset).reverse())
        const newer: Array<number> = []
        log.forEachAfter("oldest", pivot.logSeq, (item) => newer.push(item.id) > 0)
        expect(newer).toEqual(model.slice(offset + 1))
      }
    }
  })

  it("keeps blanks bounded: chunks stay few when most items stop being touched in scattered places", () => {
    const log = new RecencyLog<Touched>()
    const items = Array.from({ length: 200_000 }, (_, id) => member(id))
    for (const item of items) log.append(item)
    // Every 100th item goes quiet; the others keep being touched, round after round.
    for (let round = 0; round < 5; round++) {
      for (const item of items) if (item.id % 100 !== 0) log.touch(item)
    }
    expect(log.size).toBe(200_000)
    // 2,000 quiet items scattered over the oldest 200 chunks end up packed into a few.
    expect(log.chunkCount).toBeLessThanOrEqual(Math.ceil(200_000 / 1024) + 10)
    expect(walk(log, "oldest").slice(0, 3)).toEqual([0, 100, 200])
  })
})
