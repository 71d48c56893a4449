import type { ClientConfig } from "../../src/config/ReceiverConfig.ts"
import { defaultTiming } from "../../src/config/timing.ts"
import type { MonitorMoment } from "../../src/monitor/MonitorMoment.ts"

/** A client for publishing changes by hand to a subscriber under test; its token must never be written anywhere. */
export const fixtureClient: ClientConfig = { name: "Client1", token: "never-written", timeoutMinutes: 1, resources: new Map() }

/** A moment after the grace period, with the receiver active. */
export const momentAt = (nowMs: number): MonitorMoment => ({
  nowMs,
  timing: defaultTiming,
  graceEndsMs: 0,
  lastHeartbeatAnywhereMs: nowMs,
  receiver: { name: "receiver.test", origin: "heartbeat_mesh/receiver" }
})
