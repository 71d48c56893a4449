import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { parseReceiverConfig } from "../src/config/ReceiverConfig.ts"
import { type EventName, Events, type Notification } from "../src/domain/Notification.ts"
import { receiverNotification, resourceNotification } from "../src/monitor/notifications.ts"
import type { ResourceProfile } from "../src/monitor/ResourceProfile.ts"

// SPEC 3.1, read off the deployed receiver.py: which fields each event carries.
const receiver = { name: "rx1", origin: "heartbeat_mesh/receiver.py" }
const configured: ResourceProfile = {
  client: "Client1",
  resource: "db1.example.com",
  configured: true,
  clientTimeoutMinutes: 5,
  severity: "minor",
  service: "database",
  environment: "infra",
  location: "dc1"
}
const plain: ResourceProfile = { ...configured, service: "heartbeat", environment: undefined, location: undefined }

const build = (event: EventName, profile: ResourceProfile) =>
  // Every call offers a timeout: the table decides which events keep it.
  resourceNotification(event, profile, receiver, { severity: "ok", value: 1, text: "t", timeoutSeconds: 300 })

/** The fields besides severity, event, text and value. */
const shape = (n: Notification) => {
  const { severity: _s, event: _e, text: _t, value: _v, ...rest } = n
  return rest
}

describe("notification fields per event (SPEC 3.1 table, deployed receiver.py as the expected value)", () => {
  const timed: ReadonlyArray<[EventName, EventName | undefined]> = [
    [Events.timeout, Events.ok],
    [Events.ok, Events.timeout],
    [Events.comeback, undefined]
  ]
  it.each(timed)("%s: resource's service, environment, location and attributes.timeout", (event, opposite) => {
    expect(shape(build(event, configured))).toEqual({
      resource: "db1.example.com",
      service: "database",
      group: "db1.example.com",
      origin: "heartbeat_mesh/receiver.py",
      client: "Client1",
      environment: "infra",
      ...(opposite === undefined ? {} : { correlate: [opposite] }),
      attributes: { receiver: "rx1", timeout: 300, location: "dc1" }
    })
  })

  const untimed: ReadonlyArray<[EventName, EventName | undefined]> = [
    [Events.new, undefined],
    [Events.deregistered, undefined],
    [Events.registered, Events.notRegistered],
    [Events.notRegistered, Events.registered]
  ]
  it.each(untimed)("%s: resource's service, environment and location, no attributes.timeout", (event, opposite) => {
    expect(shape(build(event, configured))).toEqual({
      resource: "db1.example.com",
      service: "database",
      group: "db1.example.com",
      origin: "heartbeat_mesh/receiver.py",
      client: "Client1",
      environment: "infra",
      ...(opposite === undefined ? {} : { correlate: [opposite] }),
      attributes: { receiver: "rx1", location: "dc1" }
    })
  })

  const bookkeeping: ReadonlyArray<[EventName, EventName]> = [
    [Events.configExist, Events.configMissing],
    [Events.configMissing, Events.configExist]
  ]
  it.each(bookkeeping)("%s: always service heartbeat, never environment or location", (event, opposite) => {
    expect(shape(build(event, configured))).toEqual({
      resource: "db1.example.com",
      service: "heartbeat",
      group: "db1.example.com",
      origin: "heartbeat_mesh/receiver.py",
      client: "Client1",
      correlate: [opposite],
      attributes: { receiver: "rx1" }
    })
  })

  it("a resource without settings: service heartbeat, no environment, no location", () => {
    expect(shape(build(Events.timeout, plain))).toEqual({
      resource: "db1.example.com",
      service: "heartbeat",
      group: "db1.example.com",
      origin: "heartbeat_mesh/receiver.py",
      client: "Client1",
      correlate: [Events.ok],
      attributes: { receiver: "rx1", timeout: 300 }
    })
  })

  const receiverLevel: ReadonlyArray<[EventName, EventName | undefined]> = [
    [Events.activityOk, Events.activityLost],
    [Events.activityLost, Events.activityOk],
    [Events.queueThresholdReached, undefined]
  ]
  it.each(receiverLevel)("%s: service heartbeat, group = receiver host, no client and no attributes key", (event, opposite) => {
    const n = receiverNotification(event, receiver, { severity: "ok", value: "ok", text: "t" })
    expect(shape(n)).toEqual({
      resource: "rx1",
      service: "heartbeat",
      group: "rx1",
      origin: "heartbeat_mesh/receiver.py",
      ...(opposite === undefined ? {} : { correlate: [opposite] })
    })
    expect("attributes" in n).toBe(false)
  })
})

describe("origin", () => {
  const base = "enabled: true\nclients:\n  C:\n    token: t\n    timeout: 1\n"
  it("defaults to the deployed heartbeat_mesh/receiver.py", () => {
    const config = parseReceiverConfig(base, "rx")
    expect(Result.getOrThrow(config).receiver.origin).toBe("heartbeat_mesh/receiver.py")
  })
  it("is configurable with origin:", () => {
    const config = parseReceiverConfig(`origin: heartbeat_mesh/receiver\n${base}`, "rx")
    expect(Result.getOrThrow(config).receiver.origin).toBe("heartbeat_mesh/receiver")
  })
})
