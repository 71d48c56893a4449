import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { layerCheckAlerts } from "../src/checkAlerts/CheckAlerts.ts"
import { ConfigReloader, layerConfigReloader } from "../src/daemon/ConfigReloader.ts"
import { HeartbeatRouter } from "../src/routing/HeartbeatRouter.ts"
import { configFrom, receiverLayer } from "./support/receiverHarness.ts"
import { waitFor } from "./support/daemonProcess.ts"

const before = `
enabled: true
receiver_name: receiver.test
notify_devilry_sleep: 0
clients:
  Alpha:
    token: alpha-token
    timeout: 1
    resources:
      a1.example.com: {}
  Beta:
    token: beta-token
    timeout: 1
`

const after = `
enabled: true
receiver_name: receiver.test
notify_devilry_sleep: 0
clients:
  Alpha:
    token: alpha-token
    timeout: 3
    severity: minor
    resources:
      a1.example.com: {}
      a2.example.com: {service: web}
  Gamma:
    token: gamma-token
    timeout: 1
`

const setup = () => {
  const dir = mkdtempSync(join(tmpdir(), "hbm-reload-"))
  const path = join(dir, "receiver.yaml")
  writeFileSync(path, before)
  const layer = layerConfigReloader(path).pipe(
    Layer.provideMerge(layerCheckAlerts(configFrom(before))),
    Layer.provideMerge(receiverLayer(before))
  )
  return { path, layer }
}

const ingest = (token: string, resource: string) => HeartbeatRouter.use((engine) => engine.ingest({ token, resource }))

describe("live reload of receiver.yaml", () => {
  const { path, layer } = setup()

  it.live("adds a client, removes a token, adds a configured resource, applies a new timeout and severity", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* ingest("beta-token", "b1.example.com"), "accepted")
      assert.strictEqual(yield* ingest("gamma-token", "g1.example.com"), "unknown_token")
      assert.strictEqual(yield* ingest("alpha-token", "a1.example.com"), "accepted")
      const supervisor = yield* ResourceSupervisor
      assert.strictEqual(supervisor.find("Alpha", "a1.example.com")?.profile.clientTimeoutMinutes, 1)

      writeFileSync(path, after)
      const outcome = yield* ConfigReloader.use((reloader) => reloader.reload("test"))
      assert.deepStrictEqual(outcome, { applied: true, problems: [], needsRestart: [] })

      // New client: accepted. Removed client: its token refused, its resources kept as removed
      // (no alerts) for removed_client_retention.
      assert.strictEqual(yield* ingest("gamma-token", "g1.example.com"), "accepted")
      assert.strictEqual(yield* ingest("beta-token", "b1.example.com"), "unknown_token")
      assert.isDefined(supervisor.find("Beta", "b1.example.com")?.profile.clientRemovedAtMs)
      // New configured resource: an actor from now on. Live actor: new timeout and severity.
      assert.deepInclude(supervisor.find("Alpha", "a2.example.com")?.profile, { configured: true, service: "web" })
      assert.deepInclude(supervisor.find("Alpha", "a1.example.com")?.profile, {
        clientTimeoutMinutes: 3,
        severity: "minor"
      })
      // What it knew of a1 survives the reload.
      assert.isDefined(supervisor.find("Alpha", "a1.example.com")?.state.lastSeenMs)
    }).pipe(Effect.provide(layer)))

  it.live("a broken file is refused and the running configuration stays in force", () =>
    Effect.gen(function*() {
      const reloader = yield* ConfigReloader
      writeFileSync(path, before)
      assert.isTrue((yield* reloader.reload("test")).applied)
      writeFileSync(path, "enabled: true\nclients:\n  Alpha: {token: alpha-token, timeout: soon}\n")
      const outcome = yield* reloader.reload("test")
      assert.deepStrictEqual(outcome, {
        applied: false,
        problems: ["clients.Alpha.timeout: expected a number of minutes from 1/60 (one second) to 525600 (one year), got \"soon\""],
        needsRestart: []
      })
      assert.strictEqual(yield* ingest("beta-token", "b1.example.com"), "accepted")
      const engine = yield* HeartbeatRouter
      assert.deepStrictEqual(engine.config().clients.map((c) => c.name), configFrom(before).clients.map((c) => c.name))
    }).pipe(Effect.provide(layer)))

  const routed = setup()
  it.live("routes and mute windows are live; routes to channels that only a restart starts wait for it, and the reload says so", () =>
    Effect.gen(function*() {
      const reloader = yield* ConfigReloader
      writeFileSync(routed.path, `${before}mute:\n  - { name: night, cron: "0 22 * * *", duration: 8h }\n`)
      assert.deepStrictEqual(yield* reloader.reload("test"), { applied: true, problems: [], needsRestart: [] })
      writeFileSync(routed.path, `${before}channels:\n  hook: { type: webhook, url: "https://hooks.example.com/x" }\nroutes:\n  - channels: [hook]\n`)
      assert.deepStrictEqual(yield* reloader.reload("test"), {
        applied: true,
        problems: [],
        needsRestart: ["channels: changed", "routes: changed (they wait for the changed channels)"]
      })
    }).pipe(Effect.provide(routed.layer)))

  const watched = setup()
  it.live("a change to the file is picked up without a signal", () =>
    Effect.gen(function*() {
      const reloader = yield* ConfigReloader
      const appliedBefore = reloader.counters().applied
      writeFileSync(watched.path, after)
      yield* Effect.promise(() =>
        waitFor("the watcher to reload", () => (reloader.counters().applied > appliedBefore ? true : undefined))
      )
      assert.strictEqual(yield* ingest("gamma-token", "g2.example.com"), "accepted")
    }).pipe(Effect.provide(watched.layer)))
})
