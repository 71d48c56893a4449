import { describe, expect, it } from "vitest"
import { defaultTiming } from "../src/config/timing.ts"
import { type HistoryCause, historyOf } from "../src/monitor/historyRules.ts"
import type { MonitorMoment } from "../src/monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../src/monitor/ResourceProfile.ts"
import { neverHeard, type ResourceState } from "../src/monitor/resourceRules.ts"
import { type StatusPoint, uptimeOf } from "../src/monitor/uptime.ts"

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
const h = (hours: number) => hours * 3600_000

/** `now` seconds after start, grace over at 70 s, the receiver active. */
const at = (now: number): MonitorMoment => ({
  nowMs: s(now),
  timing: defaultTiming,
  graceEndsMs: s(70),
  lastHeartbeatAnywhereMs: s(now),
  receiver: { name: "rx", origin: "heartbeat_mesh/receiver.py" }
})

const seenAt = (seconds: number, extra: Partial<ResourceState> = {}): ResourceState => ({
  ...neverHeard,
  firstSeenMs: s(0),
  lastSeenMs: s(seconds),
  ...extra
})

/** `kind:status@seconds` per entry. */
const shown = (cause: HistoryCause, before: ResourceState | undefined, after: ResourceState | undefined, now: number, removed?: { atS: number | undefined; was: boolean }) =>
  historyOf(cause, before, after, removed?.atS === undefined ? profile : { ...profile, clientRemovedAtMs: s(removed.atS) }, at(now), removed?.was).map((entry) => `${entry.kind}:${entry.status ?? "-"}@${entry.atMs / 1000}`)

describe("historyOf: the status changes one change of a resource records (timeout 60 s + jitter 60 s: deadline = last + 120 s)", () => {
  it.each([
    // [case, cause, before, after, now, entries]
    ["routine heartbeat: nothing", "heartbeat", seenAt(100), seenAt(150), 150, []],
    ["heartbeat at the last moment before the deadline: nothing", "heartbeat", seenAt(100), seenAt(219.999), 219.999, []],
    ["first heartbeat of a discovered resource", "heartbeat", undefined, seenAt(150), 150, ["registered:alive@150"]],
    ["first heartbeat of a configured resource", "heartbeat", neverHeard, seenAt(150), 150, ["registered:alive@150"]],
    ["first heartbeat while paused: registered, still paused", "heartbeat", { ...neverHeard, paused: true }, seenAt(150, { paused: true }), 150, ["registered:paused@150"]],
    ["comeback after the wake saw it stale", "heartbeat", seenAt(100, { nextTimeoutAlertMs: s(280) }), seenAt(300), 300, ["alive:alive@300"]],
    ["comeback before any wake saw it stale: the stale spell first, at its deadline", "heartbeat", seenAt(100), seenAt(300), 300, ["stale:stale@220", "alive:alive@300"]],
    ["heartbeat exactly at the deadline: stale from then, alive again at once", "heartbeat", seenAt(100), seenAt(220), 220, ["stale:stale@220", "alive:alive@220"]],
    ["comeback while paused: stays paused", "heartbeat", seenAt(100, { paused: true, nextTimeoutAlertMs: s(280) }), seenAt(300, { paused: true }), 300, []],
    ["wake past the deadline, first of the spell", "wake", seenAt(100), seenAt(100, { nextTimeoutAlertMs: s(280) }), 220, ["stale:stale@220"]],
    ["wake that ran late: still the deadline", "wake", seenAt(100), seenAt(100, { nextTimeoutAlertMs: s(305) }), 245, ["stale:stale@220"]],
    ["wake during grace past the deadline", "wake", seenAt(-200), seenAt(-200, { nextTimeoutAlertMs: s(70) }), 10, ["stale:stale@-80"]],
    ["repeat wake of the same spell: nothing", "wake", seenAt(100, { nextTimeoutAlertMs: s(280) }), seenAt(100, { nextTimeoutAlertMs: s(340) }), 280, []],
    ["wake before the deadline: nothing", "wake", seenAt(100), seenAt(100), 200, []],
    ["wake past the deadline while paused: stays paused", "wake", seenAt(100, { paused: true }), seenAt(100, { paused: true, nextTimeoutAlertMs: s(280) }), 220, []],
    ["pause", "pause", seenAt(100), seenAt(100, { paused: true }), 150, ["paused:paused@150"]],
    ["pause of a paused one: nothing", "pause", seenAt(100, { paused: true }), seenAt(100, { paused: true }), 150, []],
    ["resume while fresh", "resume", seenAt(100, { paused: true }), seenAt(100), 150, ["resumed:alive@150"]],
    ["resume past the deadline: stale from the resume", "resume", seenAt(100, { paused: true }), seenAt(100), 400, ["resumed:stale@400"]],
    ["resume of one never heard", "resume", { ...neverHeard, paused: true }, neverHeard, 150, ["resumed:not_registered@150"]],
    ["deregistered, configured (back to never heard)", "deregister", seenAt(100), neverHeard, 150, ["deregistered:not_registered@150"]],
    ["deregistered, discovered (gone)", "deregister", seenAt(100), undefined, 150, ["deregistered:not_registered@150"]],
    ["deregistration of a name never known: nothing", "deregister", undefined, undefined, 150, []],
    ["removed by the configuration", "configure", seenAt(100), undefined, 150, ["removed:not_registered@150"]],
    ["added by the configuration: nothing (not registered until it sends)", "configure", undefined, neverHeard, 150, []],
    ["profile changed: nothing", "configure", seenAt(100), seenAt(100), 150, []],
    ["restored at start: nothing (the history goes on)", "restore", undefined, seenAt(100), 150, []],
    ["rare check: nothing", "rare_check", seenAt(100), seenAt(100), 150, []],
    ["run started: nothing", "start", seenAt(100), seenAt(100, { runStartedMs: s(150) }), 150, []]
  ] as const)("%s", (_, cause, before, after, now, expected) => {
    expect(shown(cause, before, after, now)).toEqual(expected)
  })

  it.each([
    // [case, client removed at (s), whether the history last recorded it removed, now, entries]
    ["its client removed by a reload: removed, client_removed, from the reload", 140, false, 150, ["removed:client_removed@140"]],
    ["another reload while its client stays removed: nothing", 140, true, 160, []],
    ["its client back: registered again with its status", undefined, true, 160, ["registered:alive@160"]],
    ["its client back past the deadline: registered, stale", undefined, true, 400, ["registered:stale@400"]],
    ["a reload that changes nothing for a kept client: nothing", undefined, false, 160, []]
  ] as const)("%s", (_, removedAtS, was, now, expected) => {
    expect(shown("configure", seenAt(100), seenAt(100), now, { atS: removedAtS, was })).toEqual(expected)
  })
})

const p = (hours: number, status: StatusPoint["status"]): StatusPoint => ({ atMs: h(hours), status })

describe("uptimeOf: hand-computed table (window [0 h, 24 h) unless said)", () => {
  it.each([
    // [case, points, from h, to h, up h, down h, paused h, unmonitored h, percent]
    ["nothing recorded: all unmonitored", [], 0, 24, 0, 0, 0, 24, null],
    ["alive before the window and all through it", [p(-5, "alive")], 0, 24, 24, 0, 0, 0, 100],
    ["registered 6 h in", [p(6, "alive")], 0, 24, 18, 0, 0, 6, 100],
    ["stale for 6 h of 24", [p(-1, "alive"), p(12, "stale"), p(18, "alive")], 0, 24, 18, 6, 0, 0, 75],
    ["stale at the end, still stale", [p(-1, "alive"), p(21, "stale")], 0, 24, 21, 3, 0, 0, 87.5],
    ["paused spans are left out", [p(-1, "alive"), p(4, "paused"), p(10, "alive"), p(16, "stale"), p(19, "alive")], 0, 24, 15, 3, 6, 0, 83.33333333333334],
    ["stale then paused then resumed stale", [p(-1, "stale"), p(8, "paused"), p(12, "stale"), p(14, "alive")], 0, 24, 10, 10, 4, 0, 50],
    ["deregistered: unmonitored afterwards", [p(-3, "alive"), p(6, "not_registered")], 0, 24, 6, 0, 0, 18, 100],
    ["its client removed for 8 h, then back: unmonitored meanwhile", [p(-3, "alive"), p(4, "client_removed"), p(12, "alive"), p(18, "stale")], 0, 24, 10, 6, 0, 8, 62.5],
    ["only stale", [p(-48, "stale")], 0, 24, 0, 24, 0, 0, 0],
    ["only paused", [p(-48, "paused")], 0, 24, 0, 0, 24, 0, null],
    ["points after the window are ignored", [p(-1, "alive"), p(30, "stale")], 0, 24, 24, 0, 0, 0, 100],
    ["two changes at one time: the later one holds", [p(-1, "alive"), p(12, "stale"), p(12, "alive")], 0, 24, 24, 0, 0, 0, 100],
    ["unsorted input", [p(18, "alive"), p(-1, "alive"), p(12, "stale")], 0, 24, 18, 6, 0, 0, 75],
    ["a 7-day window: 2 stale spells of 3.5 h", [p(-200, "alive"), p(10, "stale"), p(13.5, "alive"), p(100, "stale"), p(103.5, "alive")], 0, 168, 161, 7, 0, 0, (161 / 168) * 100],
    ["a 30-day window: registered on day 10, 12 h stale", [p(240, "alive"), p(500, "stale"), p(512, "alive")], 0, 720, 468, 12, 0, 240, (468 / 480) * 100],
    ["an empty window", [p(-1, "alive")], 5, 5, 0, 0, 0, 0, null]
  ] as const)("%s", (_, points, from, to, up, down, paused, unmonitored, percent) => {
    expect(uptimeOf(points, h(from), h(to))).toEqual({
      fromMs: h(from),
      toMs: h(to),
      upMs: h(up),
      downMs: h(down),
      pausedMs: h(paused),
      unmonitoredMs: h(unmonitored),
      percent
    })
  })
})
