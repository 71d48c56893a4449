import { describe, expect, it } from "vitest"
import type { Notification } from "../src/domain/Notification.ts"
import { NotificationBacklog } from "../src/notify/NotificationBacklog.ts"

const note = (event: string, resource: string, value: number | string = 0): Notification => ({
  severity: "ok",
  event: `heartbeat_mesh_heartbeat_${event}` as Notification["event"],
  text: "",
  resource,
  service: "heartbeat",
  group: resource,
  value,
  origin: "o",
  client: "C",
  attributes: { receiver: "rx" }
})

const threshold = (size: number) => ({ ...note("storm", "rx", size), event: "heartbeat_mesh_receiver_queue_threshold_reached" as const })

const drain = (backlog: NotificationBacklog) => {
  const out: Array<string> = []
  for (let n = backlog.shift(); n !== undefined; n = backlog.shift()) {
    out.push(`${n.event.replace(/heartbeat_mesh_(heartbeat|receiver)_/, "")}:${n.resource}:${n.value}`)
  }
  return out
}

describe("NotificationBacklog", () => {
  it("keeps every notification, in order, below the threshold", () => {
    const backlog = new NotificationBacklog(10, threshold)
    backlog.push(note("timeout", "a", 1))
    backlog.push(note("timeout", "a", 2))
    backlog.push(note("ok", "a", 0))
    expect(backlog.size).toBe(3)
    expect(drain(backlog)).toEqual(["timeout:a:1", "timeout:a:2", "ok:a:0"])
  })

  it("at the threshold: storm event first, then the newest per resource and event, transitions in order", () => {
    const backlog = new NotificationBacklog(4, threshold)
    backlog.push(note("timeout", "a", 1))
    backlog.push(note("timeout", "b", 1))
    backlog.push(note("timeout", "a", 2))
    backlog.push(note("ok", "a", 0)) // 4: storm
    expect(backlog.shedding).toBe(true)
    backlog.push(note("timeout", "a", 3)) // a timed out again after its ok
    backlog.push(note("timeout", "b", 2))
    expect(drain(backlog)).toEqual([
      "queue_threshold_reached:rx:4",
      "ok:a:0",
      "timeout:a:3",
      "timeout:b:2"
    ])
    expect(backlog.shedCount).toBe(3)
    expect(backlog.size).toBe(0)
  })

  it("returns to keeping everything once drained below half the threshold, and can storm again", () => {
    const backlog = new NotificationBacklog(4, threshold)
    for (const resource of ["a", "b", "c", "d"]) backlog.push(note("timeout", resource))
    expect(drain(backlog)).toHaveLength(5)
    expect(backlog.shedding).toBe(false)
    backlog.push(note("timeout", "a", 1))
    backlog.push(note("timeout", "a", 2))
    expect(drain(backlog)).toEqual(["timeout:a:1", "timeout:a:2"])
    for (const resource of ["a", "b", "c", "d"]) backlog.push(note("timeout", resource))
    expect(drain(backlog)[0]).toBe("queue_threshold_reached:rx:4")
  })

  it("stays bounded by the number of distinct resources while a storm lasts", () => {
    const backlog = new NotificationBacklog(100, threshold)
    for (let round = 0; round < 1000; round++) {
      for (let r = 0; r < 200; r++) backlog.push(note("timeout", `host${r}`, round))
    }
    expect(backlog.size).toBe(201)
    const drained = drain(backlog)
    expect(drained[0]).toBe("queue_threshold_reached:rx:100")
    expect(drained.slice(1).every((line) => line.endsWith(":999"))).toBe(true)
  })
})
