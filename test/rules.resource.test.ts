import { describe, expect, it } from "vitest"
import type { MonitorMoment } from "../src/monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../src/monitor/ResourceProfile.ts"
import {
  neverHeard,
  rareCheck,
  receiveHeartbeat,
  type ResourceState,
  wake
} from "../src/monitor/resourceRules.ts"
import { activityCheck } from "../src/monitor/receiverRules.ts"
import { defaultTiming } from "../src/config/timing.ts"
import { isRepeat } from "../src/monitor/repeats.ts"
import type { Notification } from "../src/domain/Notification.ts"

/** `event=value`, with ` (repeat)` for a notification the rules marked as a repeat. */
const shown = (n: Notification) =>
  `${n.event.replace("heartbeat_mesh_heartbeat_", "")}=${n.value}${isRepeat(n) ? " (repeat)" : ""}`

const profile: ResourceProfile = {
  client: "C",
  resource: "r",
  configured: true,
  clientTimeoutMinutes: 1,
  severity: "major",
  service: "heartbeat",
  environment: undefined,
  location: undefined
}

const s = (seconds: number) => seconds * 1000

/** A moment `now` seconds after start; grace ends at 70 s; last heartbeat anywhere `anyAgo` seconds ago. */
const momentAt = (now: number, anyAgo: number | "never" = 0): MonitorMoment => ({
  nowMs: s(now),
  timing: defaultTiming,
  graceEndsMs: s(70),
  lastHeartbeatAnywhereMs: anyAgo === "never" ? undefined : s(now - anyAgo),
  receiver: { name: "rx", origin: "heartbeat_mesh/receiver.py" }
})

const seenAt = (seconds: number, extra: Partial<ResourceState> = {}): ResourceState => ({
  ...neverHeard,
  firstSeenMs: s(seconds),
  lastSeenMs: s(seconds),
  ...extra
})

describe("wake (the resource's own timer)", () => {
  it.each([
    // [case, state, now, anyAgo, events, nextWake (s), nextTimeoutAlert (s)]
    ["never heard: idle", neverHeard, 500, 0, [], undefined, undefined],
    ["before the deadline: sleep until it", seenAt(100), 219, 0, [], 220, undefined],
    ["at the deadline: timeout, repeat one check later", seenAt(100), 220, 0, ["timeout=120"], 280, 280],
    ["after a held-back first one: still the state change", seenAt(100, { nextTimeoutAlertMs: s(280) }), 280, 0, ["timeout=180"], 340, 340],
    ["stale but the receiver hears nobody: held back", seenAt(100), 220, 130, [], 280, 280],
    ["stale, never heard anyone since start: held back", seenAt(100), 220, "never", [], 280, 280],
    ["repeat not yet due", seenAt(100, { nextTimeoutAlertMs: s(280) }), 250, 0, [], 280, 280],
    ["repeat due", seenAt(100, { nextTimeoutAlertMs: s(280), timeoutSent: true }), 280, 0, ["timeout=180 (repeat)"], 340, 340],
    ["stale during grace: wait for the end of grace", seenAt(-200), 10, 0, [], 70, 70],
    ["heartbeat override of 5 min", seenAt(100, { timeoutOverrideMinutes: 5 }), 459, 0, [], 460, undefined],
    ["fractional override of 0.5 min", seenAt(100, { timeoutOverrideMinutes: 0.5 }), 190, 0, ["timeout=90"], 250, 250],
    ["paused: stale but silent, still on its rhythm", seenAt(100, { paused: true }), 220, 0, [], 280, 280]
  ] as const)("%s", (_, state, now, anyAgo, events, nextWake, nextAlert) => {
    const result = wake(state, profile, momentAt(now, anyAgo))
    expect(result.notifications.map(shown)).toEqual(events)
    expect(result.state.timeoutSent).toBe(events.length > 0 || state.timeoutSent)
    expect(result.nextWakeMs).toBe(nextWake === undefined ? undefined : s(nextWake))
    expect(result.state.nextTimeoutAlertMs).toBe(nextAlert === undefined ? undefined : s(nextAlert))
  })
})

describe("receiveHeartbeat", () => {
  it.each([
    ["first heartbeat after grace: new", neverHeard, 100, ["new=registered"]],
    ["first heartbeat during grace: silent", neverHeard, 69, []],
    ["routine heartbeat: silent", seenAt(100), 150, []],
    ["one second before the deadline: no comeback", seenAt(100), 219, []],
    ["at the deadline: comeback then ok 0", seenAt(100), 220, ["comeback=comeback", "ok=0"]],
    ["after timeouts were sent: comeback then ok 0, both state changes", seenAt(100, { timeoutSent: true }), 400, ["comeback=comeback", "ok=0"]],
    ["stale during grace: silent", seenAt(-200), 60, []]
  ] as const)("%s", (_, state, now, events) => {
    const result = receiveHeartbeat(state, profile, { resource: "r", timeoutMinutes: 2, payload: { up: 1 } }, momentAt(now))
    expect(result.notifications.map(shown)).toEqual(events)
    expect(result.state).toEqual({
      firstSeenMs: state.firstSeenMs ?? s(now),
      lastSeenMs: s(now),
      timeoutOverrideMinutes: 2,
      payload: { up: 1 },
      nextTimeoutAlertMs: undefined,
      paused: false,
      timeoutSent: false
    })
  })
})

describe("rareCheck", () => {
  const day = 86_400
  it.each([
    ["configured, never heard", true, neverHeard, 100, ["not_registered=not registered"]],
    ["configured, never heard, paused: silent", true, { ...neverHeard, paused: true }, 100, []],
    ["configured, alive, paused", true, seenAt(100, { paused: true }), 130, ["ok=30 (repeat)", "registered=registered (repeat)", "config_exist=0 (repeat)"]],
    ["configured, alive", true, seenAt(100), 130, ["ok=30 (repeat)", "registered=registered (repeat)", "config_exist=0 (repeat)"]],
    ["configured, stale", true, seenAt(100), 400, ["registered=registered (repeat)", "config_exist=0 (repeat)"]],
    ["configured, known 3 days", true, seenAt(0, { lastSeenMs: s(3 * day) }), 3 * day + 10, [
      "ok=10 (repeat)",
      "registered=registered (repeat)",
      "config_exist=3 (repeat)"
    ]],
    ["discovered, known under 24 h", false, seenAt(0, { lastSeenMs: s(day) }), day, ["ok=0 (repeat)"]],
    ["discovered, just over 24 h: config_missing is a state change", false, seenAt(0, { lastSeenMs: s(day + 1) }), day + 1, ["ok=0 (repeat)", "config_missing=1"]],
    ["discovered, over 24 h + a rare interval: config_missing repeats", false, seenAt(0, { lastSeenMs: s(day + 1801) }), day + 1801, ["ok=0 (repeat)", "config_missing=1 (repeat)"]]
  ] as const)("%s", (_, configured, state, now, events) => {
    const notifications = rareCheck(state, { ...profile, configured }, momentAt(now))
    expect(notifications.map(shown)).toEqual(events)
  })
})

describe("activityCheck", () => {
  it.each([
    ["during grace: nothing", 69, 0, undefined, undefined],
    ["heard 119 s ago: ok, the first one is a state change", 200, 119, undefined, "heartbeat_mesh_receiver_activity_ok"],
    ["ok again: a repeat", 200, 119, "heartbeat_mesh_receiver_activity_ok", "heartbeat_mesh_receiver_activity_ok (repeat)"],
    ["heard 120 s ago: lost, a state change after ok", 200, 120, "heartbeat_mesh_receiver_activity_ok", "heartbeat_mesh_receiver_activity_lost"],
    ["still lost: a repeat", 200, 120, "heartbeat_mesh_receiver_activity_lost", "heartbeat_mesh_receiver_activity_lost (repeat)"],
    ["ok after lost: a state change", 200, 10, "heartbeat_mesh_receiver_activity_lost", "heartbeat_mesh_receiver_activity_ok"],
    ["never heard anyone: lost", 200, "never", undefined, "heartbeat_mesh_receiver_activity_lost"]
  ] as const)("%s", (_, now, anyAgo, previous, event) => {
    const notification = activityCheck(momentAt(now, anyAgo), previous)
    expect(notification === undefined ? undefined : `${notification.event}${isRepeat(notification) ? " (repeat)" : ""}`)
      .toBe(event)
  })
})
