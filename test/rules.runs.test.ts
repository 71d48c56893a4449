import { describe, expect, it } from "vitest"
import { defaultTiming } from "../src/config/timing.ts"
import type { MonitorMoment } from "../src/monitor/MonitorMoment.ts"
import type { ResourceProfile } from "../src/monitor/ResourceProfile.ts"
import { neverHeard, type ResourceState } from "../src/monitor/resourceRules.ts"
import { receiveRunSignal, type RunSignal, wakeWithRuns } from "../src/monitor/runRules.ts"
import { isRepeat } from "../src/monitor/repeats.ts"

const profile: ResourceProfile = {
  client: "C",
  resource: "backup",
  configured: true,
  clientTimeoutMinutes: 60,
  severity: "major",
  service: "heartbeat",
  environment: undefined,
  location: undefined,
  maxRuntimeMinutes: 10
}

const s = (seconds: number) => seconds * 1000

/** `now` seconds after start; grace ends at 70 s; someone was heard just now. */
const at = (now: number): MonitorMoment => ({
  nowMs: s(now),
  timing: defaultTiming,
  graceEndsMs: s(70),
  lastHeartbeatAnywhereMs: s(now),
  receiver: { name: "rx", origin: "heartbeat_mesh/receiver.py" }
})

const seen = (seconds: number, extra: Partial<ResourceState> = {}): ResourceState => ({
  ...neverHeard,
  firstSeenMs: s(seconds),
  lastSeenMs: s(seconds),
  ...extra
})

const ok: RunSignal = { kind: "success", heartbeat: { resource: "backup", timeoutMinutes: undefined, payload: { log: "done" } } }
const fail = (exitCode?: number): RunSignal => ({
  kind: "fail",
  heartbeat: { resource: "backup", timeoutMinutes: undefined, payload: exitCode === undefined ? {} : { exit_code: exitCode } },
  exitCode
})
const start: RunSignal = { kind: "start" }

const told = (notifications: ReadonlyArray<{ event: string; value: string | number; severity: string; correlate?: ReadonlyArray<string> }>) =>
  notifications.map((n) => `${n.event.replace("heartbeat_mesh_heartbeat_", "")}=${n.value}/${n.severity}`)

describe("run signals (HTTP ping start / success / fail)", () => {
  it.each([
    // [case, state, signal, now, told, runStartedMs (s), failing]
    ["success, nothing special", seen(100), ok, 200, [], undefined, undefined],
    ["first ever signal is a failure: new, then fail", neverHeard, fail(), 200, ["new=registered/informational", "fail=fail/major"], undefined, true],
    ["fail with an exit code: value is the code", seen(100), fail(3), 200, ["fail=3/major"], undefined, true],
    ["fail again while failing: fail again", seen(100, { failing: true }), fail(1), 200, ["fail=1/major"], undefined, true],
    ["success after a failure: ok at once", seen(100, { failing: true }), ok, 200, ["ok=0/ok"], undefined, undefined],
    ["success after a failure during grace: recovers silently", seen(0, { failing: true }), ok, 10, [], undefined, undefined],
    ["fail during grace: still told", seen(0), fail(2), 10, ["fail=2/major"], undefined, true],
    ["start: notes the time, tells nothing", seen(100), start, 200, [], 200, undefined],
    ["start keeps a failure until a success", seen(100, { failing: true }), start, 200, [], 200, true],
    ["comeback that failed: comeback and fail, no ok", seen(100), fail(), 100 + 3600 + 60, ["comeback=comeback/informational", "fail=fail/major"], undefined, true],
    ["comeback that succeeded after a failure: one ok only", seen(100, { failing: true }), ok, 100 + 3600 + 60, ["comeback=comeback/informational", "ok=0/ok"], undefined, undefined]
  ] as const)("%s", (_, state, signal, now, expected, runStarted, failing) => {
    const result = receiveRunSignal(state, profile, signal, at(now))
    expect(told(result.notifications)).toEqual(expected)
    expect(result.state.runStartedMs).toBe(runStarted === undefined ? undefined : s(runStarted))
    expect(result.state.failing).toBe(failing)
    if (signal.kind !== "start") expect(result.state.lastSeenMs).toBe(s(now))
    else expect(result.state.lastSeenMs).toBe(state.lastSeenMs)
  })

  it("a success after a start records the run's length; the run ends", () => {
    const result = receiveRunSignal(seen(100, { runStartedMs: s(150) }), profile, ok, at(392.5))
    expect(result.state.payload).toEqual({ log: "done", duration_seconds: 242.5 })
    expect(result.state.runStartedMs).toBeUndefined()
  })

  it("a failure after a start records the run's length too", () => {
    const result = receiveRunSignal(seen(100, { runStartedMs: s(150) }), profile, fail(4), at(160))
    expect(result.state.payload).toEqual({ exit_code: 4, duration_seconds: 10 })
  })

  it("the first failure is a state change, a failure while failing a repeat", () => {
    expect(isRepeat(receiveRunSignal(seen(100), profile, fail(1), at(200)).notifications[0]!)).toBe(false)
    expect(isRepeat(receiveRunSignal(seen(100, { failing: true }), profile, fail(1), at(200)).notifications[0]!)).toBe(true)
    expect(isRepeat(receiveRunSignal(seen(100, { failing: true }), profile, ok, at(200)).notifications[0]!)).toBe(false)
  })

  it("fail correlates with ok, with the resource's severity", () => {
    const [notification] = receiveRunSignal(seen(100), profile, fail(), at(200)).notifications
    expect(notification).toMatchObject({ event: "heartbeat_mesh_heartbeat_fail", severity: "major", correlate: ["heartbeat_mesh_heartbeat_ok"], resource: "backup", client: "C" })
  })
})

describe("max_runtime (the actor's timer with runs)", () => {
  it.each([
    // [case, state, profile max (min), now, told, next wake (s), runStartedMs (s) after, failing after]
    ["run within its limit: wake at the run's deadline", seen(100, { runStartedMs: s(200) }), 10, 300, [], 800, 200, undefined],
    ["run past its limit: timeout once, run over, failing", seen(100, { runStartedMs: s(200) }), 10, 800, ["timeout=600/major"], 3760, undefined, true],
    ["no limit configured: plain wake", seen(100, { runStartedMs: s(200) }), undefined, 800, [], 3760, 200, undefined],
    ["never heard, only started: wakes for the run", { ...neverHeard, runStartedMs: s(200) }, 10, 300, [], 800, 200, undefined],
    ["heartbeat deadline earlier than the run's", seen(100, { runStartedMs: s(3300) }), 10, 3400, [], 3760, 3300, undefined]
  ] as const)("%s", (_, state, maxRuntime, now, expected, nextWake, runStarted, failing) => {
    const result = wakeWithRuns(state, { ...profile, maxRuntimeMinutes: maxRuntime }, at(now))
    expect(told(result.notifications)).toEqual(expected)
    expect(result.nextWakeMs).toBe(s(nextWake))
    expect(result.state.runStartedMs).toBe(runStarted === undefined ? undefined : s(runStarted))
    expect(result.state.failing).toBe(failing)
  })

  it("the run's timeout says which limit it broke and correlates with ok", () => {
    const [timeout] = wakeWithRuns(seen(100, { runStartedMs: s(200) }), profile, at(800)).notifications
    expect(timeout).toMatchObject({
      event: "heartbeat_mesh_heartbeat_timeout",
      correlate: ["heartbeat_mesh_heartbeat_ok"],
      attributes: { receiver: "rx", timeout: 600 }
    })
    expect(timeout!.text).toContain("max_runtime 600 s")
  })
})
