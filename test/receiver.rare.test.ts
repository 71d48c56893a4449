import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Notification } from "../src/domain/Notification.ts"
import { at, eventsOf, receiverLayer, receiverName, send, settle, takeSent } from "./support/receiverHarness.ts"

const rareYaml = `
enabled: true
notify_devilry_sleep: 0
rare_check_interval: 3600
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
    severity: major
    resources:
      host1.example.com:
        environment: infra
      silent.example.com:
        severity: warning
`

const about = (resource: string, sent: ReadonlyArray<Notification>) => sent.filter((n) => n.resource === resource)

describe("rare checks", () => {
  it.effect("first at the end of grace, then every rare interval: ok, registered, not_registered, config_exist", () =>
    Effect.gen(function*() {
      yield* at(10)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* at(70)
      const sent = yield* takeSent
      assert.deepStrictEqual(eventsOf(sent), [
        "heartbeat_mesh_heartbeat_ok:host1.example.com",
        "heartbeat_mesh_heartbeat_registered:host1.example.com",
        "heartbeat_mesh_heartbeat_config_exist:host1.example.com",
        "heartbeat_mesh_heartbeat_not_registered:silent.example.com"
      ])
      const common = {
        resource: "host1.example.com",
        service: "heartbeat",
        group: "host1.example.com",
        origin: "heartbeat_mesh/receiver.py",
        client: "Client1",
        environment: "infra"
      }
      assert.deepStrictEqual(sent[0], {
        ...common,
        severity: "ok",
        event: "heartbeat_mesh_heartbeat_ok",
        text: "Heartbeat from host1.example.com (client Client1) is ok: last one 60 s ago",
        value: 60,
        correlate: ["heartbeat_mesh_heartbeat_timeout"],
        attributes: { receiver: receiverName, timeout: 60 }
      })
      assert.deepStrictEqual(sent[1], {
        ...common,
        severity: "ok",
        event: "heartbeat_mesh_heartbeat_registered",
        text: "Configured resource host1.example.com (client Client1) sends heartbeats",
        value: "registered",
        correlate: ["heartbeat_mesh_heartbeat_not_registered"],
        attributes: { receiver: receiverName }
      })
      // config_exist / config_missing: always service "heartbeat", never environment or location.
      const { environment: _environment, ...withoutEnvironment } = common
      assert.deepStrictEqual(sent[2], {
        ...withoutEnvironment,
        severity: "ok",
        event: "heartbeat_mesh_heartbeat_config_exist",
        text: "Resource host1.example.com (client Client1) is listed in the configuration; first heartbeat 0 days ago",
        value: 0,
        correlate: ["heartbeat_mesh_heartbeat_config_missing"],
        attributes: { receiver: receiverName }
      })
      assert.deepStrictEqual(sent[3], {
        severity: "warning",
        event: "heartbeat_mesh_heartbeat_not_registered",
        text: "Configured resource silent.example.com (client Client1) has sent no heartbeat",
        resource: "silent.example.com",
        service: "heartbeat",
        group: "silent.example.com",
        value: "not registered",
        origin: "heartbeat_mesh/receiver.py",
        client: "Client1",
        correlate: ["heartbeat_mesh_heartbeat_registered"],
        attributes: { receiver: receiverName }
      })
      // Next rare check one interval later; nothing rare in between.
      yield* at(3669)
      assert.deepStrictEqual(about("silent.example.com", yield* takeSent), [])
      yield* at(3670)
      assert.deepStrictEqual(eventsOf(about("silent.example.com", yield* takeSent)), [
        "heartbeat_mesh_heartbeat_not_registered:silent.example.com"
      ])
    }).pipe(Effect.provide(receiverLayer(rareYaml))))

  it.effect("a stale resource gets no ok at the rare check, but stays registered", () =>
    Effect.gen(function*() {
      yield* at(10)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* at(3670)
      const sent = about("host1.example.com", yield* takeSent)
      const rare = sent.filter((n) => n.event !== "heartbeat_mesh_heartbeat_timeout")
      assert.deepStrictEqual(eventsOf(rare.slice(-2)), [
        "heartbeat_mesh_heartbeat_registered:host1.example.com",
        "heartbeat_mesh_heartbeat_config_exist:host1.example.com"
      ])
      assert.notInclude(eventsOf(rare.slice(3)), "heartbeat_mesh_heartbeat_ok:host1.example.com")
    }).pipe(Effect.provide(receiverLayer(rareYaml))))

  it.effect("config_missing only for a resource known more than 24 h that is not listed", () =>
    Effect.gen(function*() {
      const hour = 3600
      // A discovered resource that keeps sending every 30 s for 26 hours.
      let missing: Array<Notification> = []
      for (let t = 100; t <= 26 * hour + 200; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "unlisted.example.com")
        missing = missing.concat((yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_config_missing"))
      }
      // Rare checks run at 70 + k*3600. At k = 24 (86470 s) the resource is known for 86370 s, under
      // 24 h: nothing. k = 25 (90070 s) and k = 26 (93670 s) are past 24 h: config_missing twice.
      assert.deepStrictEqual(missing.map((n) => n.value), [1, 1])
      assert.deepStrictEqual(missing[0], {
        severity: "warning",
        event: "heartbeat_mesh_heartbeat_config_missing",
        text: "Resource unlisted.example.com (client Client1) has sent heartbeats for 1 days but is not listed in the configuration",
        resource: "unlisted.example.com",
        service: "heartbeat",
        group: "unlisted.example.com",
        value: 1,
        origin: "heartbeat_mesh/receiver.py",
        client: "Client1",
        correlate: ["heartbeat_mesh_heartbeat_config_exist"],
        attributes: { receiver: receiverName }
      })
    }).pipe(Effect.provide(receiverLayer(rareYaml))))
})

describe("deregistration", () => {
  it.effect("forgets a discovered resource: deregistered, then no timeout and no rare events", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "temp.example.com")
      yield* takeSent
      yield* send("aaaaaaaa", "temp.example.com", { deregister: true })
      yield* settle
      assert.deepStrictEqual(yield* takeSent, [{
        severity: "informational",
        event: "heartbeat_mesh_heartbeat_deregistered",
        text: "Resource temp.example.com (client Client1) was deregistered",
        resource: "temp.example.com",
        service: "heartbeat",
        group: "temp.example.com",
        value: "deregistered",
        origin: "heartbeat_mesh/receiver.py",
        client: "Client1",
        attributes: { receiver: receiverName }
      }])
      for (let t = 100; t <= 7400; t += 60) {
        yield* at(t)
        yield* send("aaaaaaaa", "host1.example.com")
      }
      assert.deepStrictEqual(about("temp.example.com", yield* takeSent), [])
    }).pipe(Effect.provide(receiverLayer(rareYaml))))

  it.effect("a configured resource goes back to not_registered at the next rare check", () =>
    Effect.gen(function*() {
      yield* at(10)
      yield* send("aaaaaaaa", "host1.example.com")
      yield* at(100)
      yield* send("aaaaaaaa", "host1.example.com", { deregister: true })
      yield* takeSent
      // keep the receiver active with another host so that a stale host1 would be reported
      for (let t = 130; t <= 3670; t += 60) {
        yield* at(t)
        yield* send("aaaaaaaa", "other.example.com")
      }
      yield* at(3670)
      const sent = about("host1.example.com", yield* takeSent)
      assert.deepStrictEqual(eventsOf(sent), ["heartbeat_mesh_heartbeat_not_registered:host1.example.com"])
      assert.strictEqual(sent[0]?.severity, "major")
    }).pipe(Effect.provide(receiverLayer(rareYaml))))

  it.effect("a deregistered resource that sends again is new again", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "again.example.com")
      yield* send("aaaaaaaa", "again.example.com", { deregister: true })
      yield* send("aaaaaaaa", "again.example.com")
      yield* settle
      assert.deepStrictEqual(eventsOf(about("again.example.com", yield* takeSent)), [
        "heartbeat_mesh_heartbeat_new:again.example.com",
        "heartbeat_mesh_heartbeat_deregistered:again.example.com",
        "heartbeat_mesh_heartbeat_new:again.example.com"
      ])
    }).pipe(Effect.provide(receiverLayer(rareYaml))))

  it.effect("an unknown token cannot deregister anything", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "keep.example.com")
      const outcome = yield* send("not-a-token", "keep.example.com", { deregister: true })
      assert.strictEqual(outcome, "unknown_token")
      yield* settle
      assert.deepStrictEqual(eventsOf(about("keep.example.com", yield* takeSent)), [
        "heartbeat_mesh_heartbeat_new:keep.example.com"
      ])
    }).pipe(Effect.provide(receiverLayer(rareYaml))))
})
