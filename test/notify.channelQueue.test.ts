import { describe, expect, it } from "vitest"
import type { Notification } from "../src/domain/Notification.ts"
import { ChannelQueue, estimateBytes, type Lane, type Outgoing } from "../src/notify/ChannelQueue.ts"

const note = (event: string, resource: string, value: number | string = 0): Notification => ({
  severity: "ok",
  event: (event.startsWith("heartbeat_mesh_") ? event : `heartbeat_mesh_heartbeat_${event}`) as Notification["event"],
  text: "",
  resource,
  service: "heartbeat",
  group: resource,
  value,
  origin: "o",
  client: "C",
  attributes: { receiver: "rx" }
})

let ids = 0
const entry = (lane: Lane, event: string, resource: string, value: number | string = 0): Outgoing => {
  const notification = note(event, resource, value)
  return { id: String(ids++), notification, lane, bytes: estimateBytes(notification), attempts: 0 }
}
const change = (event: string, resource: string, value: number | string = 0) => entry("change", event, resource, value)
const repeat = (event: string, resource: string, value: number | string = 0) => entry("repeat", event, resource, value)

const queueOf = (maxEntries: number, maxBytes = 1_000_000, dropped: Array<string> = []) =>
  new ChannelQueue({
    maxEntries,
    maxBytes,
    stormNotification: (backlog) => entry("change", "heartbeat_mesh_receiver_queue_threshold_reached", "rx", backlog),
    onDropped: (gone) => dropped.push(`${gone.notification.event.replace("heartbeat_mesh_heartbeat_", "")}:${gone.notification.resource}`)
  })

const drain = (queue: ChannelQueue) => {
  const out: Array<string> = []
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const n = next.notification
    out.push(`${n.event.replace(/heartbeat_mesh_(heartbeat|receiver)_/, "")}:${n.resource}:${n.value}`)
  }
  return out
}

describe("ChannelQueue lanes", () => {
  it("sends every state change, in order, before any repeat", () => {
    const queue = queueOf(100)
    queue.push(repeat("ok", "a", 1))
    queue.push(change("timeout", "b", 1))
    queue.push(repeat("registered", "a"))
    queue.push(change("comeback", "c", "comeback"))
    queue.push(change("ok", "c", 0))
    expect(drain(queue)).toEqual(["timeout:b:1", "comeback:c:comeback", "ok:c:0", "ok:a:1", "registered:a:0"])
  })

  it("a newer repeat of the same resource and event takes the older one's place in line", () => {
    const queue = queueOf(100)
    queue.push(repeat("timeout", "a", 60))
    queue.push(repeat("ok", "b", 1))
    queue.push(repeat("timeout", "a", 120))
    expect(queue.size).toBe(2)
    expect(drain(queue)).toEqual(["timeout:a:120", "ok:b:1"])
    expect(queue.counters().repeatsShed).toBe(1)
  })

  it("never coalesces state changes below the cap", () => {
    const queue = queueOf(10)
    queue.push(change("timeout", "a", 1))
    queue.push(change("ok", "a", 0))
    queue.push(change("timeout", "a", 2))
    expect(drain(queue)).toEqual(["timeout:a:1", "ok:a:0", "timeout:a:2"])
  })
})

describe("ChannelQueue bounds", () => {
  it("past the cap, the oldest repeats are shed first; no storm while that suffices", () => {
    const queue = queueOf(3)
    queue.push(repeat("ok", "a"))
    queue.push(repeat("ok", "b"))
    queue.push(change("timeout", "x"))
    queue.push(change("timeout", "y"))
    expect(queue.size).toBe(3)
    expect(queue.counters()).toMatchObject({ repeatsShed: 1, storms: 0, storming: false })
    expect(drain(queue)).toEqual(["timeout:x:0", "timeout:y:0", "ok:b:0"])
  })

  it("past the cap with state changes only: one storm notice first, then the latest state per resource", () => {
    const queue = queueOf(4)
    queue.push(change("timeout", "a", 1))
    queue.push(change("timeout", "b", 1))
    queue.push(change("ok", "a", 0))
    queue.push(change("not_registered", "a"))
    queue.push(change("timeout", "a", 2)) // 5 > 4: storm
    expect(queue.counters()).toMatchObject({ storms: 1, storming: true, changesCoalesced: 2 })
    queue.push(change("timeout", "b", 2))
    queue.push(change("timeout", "b", 3))
    expect(drain(queue)).toEqual([
      "queue_threshold_reached:rx:5",
      "not_registered:a:0",
      "timeout:a:2",
      "timeout:b:3"
    ])
  })

  it("a queued new followed by the same resource's deregistration cancel out during a storm; both are reported dropped", () => {
    const dropped: Array<string> = []
    const queue = queueOf(2, 1_000_000, dropped)
    queue.push(change("timeout", "real"))
    queue.push(change("new", "junk1"))
    queue.push(change("new", "junk2")) // storm
    queue.push(change("deregistered", "junk1"))
    queue.push(change("deregistered", "junk2"))
    expect(drain(queue)).toEqual(["queue_threshold_reached:rx:3", "timeout:real:0"])
    expect(dropped).toEqual(["new:junk1", "deregistered:junk1", "new:junk2", "deregistered:junk2"])
  })

  it("the storm ends below half the cap and a later one sends a new notice", () => {
    const queue = queueOf(4)
    for (const resource of ["a", "b", "c", "d", "e"]) queue.push(change("timeout", resource))
    expect(drain(queue)).toHaveLength(6)
    expect(queue.counters().storming).toBe(false)
    for (const resource of ["a", "b", "c", "d", "e"]) queue.push(change("timeout", resource))
    expect(drain(queue)[0]).toBe("queue_threshold_reached:rx:5")
    expect(queue.counters().storms).toBe(2)
  })

  it("the byte cap counts too", () => {
    const one = estimateBytes(note("ok", "a"))
    const queue = queueOf(1000, one * 2)
    queue.push(repeat("ok", "a"))
    queue.push(repeat("ok", "b"))
    queue.push(repeat("ok", "c"))
    expect(queue.size).toBe(2)
    expect(queue.bytes).toBe(one * 2)
  })

  it("stays within the cap under endless repeats of many resources", () => {
    const queue = queueOf(100)
    queue.push(change("timeout", "real"))
    for (let round = 0; round < 200; round++) {
      for (let r = 0; r < 1000; r++) queue.push(repeat("ok", `host${r}`, round))
      expect(queue.size).toBeLessThanOrEqual(100)
    }
    const drained = drain(queue)
    expect(drained[0]).toBe("timeout:real:0")
    expect(drained.slice(1).every((line) => line.endsWith(":199"))).toBe(true)
    expect(queue.counters().storms).toBe(0)
  })

  it("stays bounded by the resources of a storm however long it lasts", () => {
    const queue = queueOf(100)
    for (let round = 0; round < 1000; round++) {
      for (let r = 0; r < 200; r++) queue.push(change("timeout", `host${r}`, round))
    }
    expect(queue.size).toBe(201)
    const drained = drain(queue)
    expect(drained[0]).toBe("queue_threshold_reached:rx:101")
    expect(drained.slice(1).every((line) => line.endsWith(":999"))).toBe(true)
  })
})
