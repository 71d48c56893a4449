import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { at, eventsOf, receiverLayer, send, settle, takeSent } from "./support/receiverHarness.ts"

// SPEC 6 facts about what the deployed receiver does with what it was given, under TestClock.

const yaml = `
enabled: true
notify_devilry_sleep: 0
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
    severity: fatal
    resources:
      listed.example.com:
        severity: sev-9
`

describe("SPEC 6 on the receiver", () => {
  it.effect("severity strings are passed through as written, alerta decides what it knows", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* send("aaaaaaaa", "listed.example.com")
      yield* send("aaaaaaaa", "discovered.example.com")
      yield* send("aaaaaaaa", "keeper.example.com")
      for (let t = 130; t <= 250; t += 30) {
        yield* at(t)
        yield* send("aaaaaaaa", "keeper.example.com")
      }
      const timeouts = (yield* takeSent).filter((n) => n.event === "heartbeat_mesh_heartbeat_timeout")
      assert.deepStrictEqual(
        timeouts.map((n) => [n.resource, n.severity]).slice(0, 2).sort(),
        [["discovered.example.com", "fatal"], ["listed.example.com", "sev-9"]]
      )
    }).pipe(Effect.provide(receiverLayer(yaml))))

  it.effect("a deregistration is acted on for any valid token; a name the receiver never knew is no news (on purpose)", () =>
    Effect.gen(function*() {
      yield* at(100)
      yield* takeSent
      // SPEC 6: the deployed receiver sent deregistered for any name. Ours says nothing about a name
      // it never knew, so a flood of junk deregistrations cannot flood notify_devilry (issue 15.1;
      // README, migration guide). A known one, configured or discovered, is deregistered as deployed.
      yield* send("aaaaaaaa", "never-seen.example.com", { deregister: true })
      yield* send("aaaaaaaa", "listed.example.com", { deregister: true })
      yield* settle
      assert.deepStrictEqual(eventsOf(yield* takeSent), ["heartbeat_mesh_heartbeat_deregistered:listed.example.com"])
      yield* send("aaaaaaaa", "discovered.example.com")
      yield* takeSent
      yield* send("aaaaaaaa", "discovered.example.com", { deregister: true })
      yield* settle
      assert.deepStrictEqual(eventsOf(yield* takeSent), ["heartbeat_mesh_heartbeat_deregistered:discovered.example.com"])
      yield* send("bogus-token", "listed.example.com", { deregister: true })
      yield* settle
      assert.deepStrictEqual(yield* takeSent, [])
    }).pipe(Effect.provide(receiverLayer(yaml))))
})
