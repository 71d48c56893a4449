import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { Push } from "zeromq"
import { ResourceSupervisor } from "../src/actors/ResourceSupervisor.ts"
import { makePrometheus } from "../src/http/metrics.ts"
import { readinessProblems } from "../src/http/readiness.ts"
import { Ingress, IngressProbe, layerZmqIngress } from "../src/ingress/ZmqIngress.ts"
import { StatePersistence } from "../src/store/StatePersistence.ts"
import { monotonicMillis } from "../src/support/monotonicTime.ts"
import { Clock } from "effect"
import { waitFor } from "./support/daemonProcess.ts"
import { receiverLayer } from "./support/receiverHarness.ts"

/** A frame that makes the test probe throw, as a failing `receive` would. */
const crashMarker = "crash-the-socket-loop"
let crashes = 0

const layer = layerZmqIngress({ iface: "127.0.0.1", port: 0, restartPolicy: Schedule.exponential("300 millis", 2) }).pipe(
  Layer.provideMerge(receiverLayer()),
  Layer.provide(IngressProbe.layerTest((frames) => {
    if (Buffer.from(frames[0] ?? new Uint8Array()).toString().includes(crashMarker)) {
      crashes++
      throw new Error(`injected receive failure ${crashes}`)
    }
  }))
)

const until = <A>(what: string, check: () => A | undefined) => Effect.promise(() => waitFor(what, check, 10_000))

describe("supervised ingress (issue 13.4, real ZeroMQ sockets)", () => {
  it.live("a failed socket loop is restarted with back-off on the same endpoint; readiness says why meanwhile; nothing after it is lost", () =>
    Effect.gen(function*() {
      const ingress = yield* Ingress
      const supervisor = yield* ResourceSupervisor
      const persistence = yield* StatePersistence
      const clock = yield* Clock.Clock
      const ready = () => readinessProblems({ ingress: ingress.status(), state: persistence.counters(), stuckNotifiers: [] }, monotonicMillis(clock))
      const push = new Push({ linger: 1000 })
      push.connect(ingress.endpoint)
      const heartbeat = (resource: string) => Effect.promise(() => push.send(JSON.stringify({ token: "aaaaaaaa", resource })))

      yield* heartbeat("before.example.com")
      yield* until("before", () => supervisor.find("Client1", "before.example.com"))
      assert.deepStrictEqual(ready(), [])
      assert.deepInclude(ingress.status(), { up: true, restarts: 0 })

      // Two failures in a row: the second restart waits twice as long (300 ms, then 600 ms).
      for (const [expected, delayMs] of [[1, 300], [2, 600]] as const) {
        yield* Effect.promise(() => push.send(crashMarker))
        yield* until("the loop down", () => (ingress.status().up ? undefined : true))
        yield* until("its restart scheduled", () => ingress.status().restartDelayMs)
        assert.strictEqual(ingress.status().restartDelayMs, delayMs)
        const problems = ready()
        assert.lengthOf(problems, 1)
        assert.match(problems[0]!, new RegExp(`^heartbeat socket loop failed: injected receive failure ${expected} \\(down for \\d+ s\\)$`))
        yield* until("the loop restarted", () => (ingress.status().up ? true : undefined))
        assert.strictEqual(ingress.status().restarts, expected)
      }
      assert.deepStrictEqual(ready(), [])

      // The sender reconnects by itself; what it sends now is routed.
      for (const name of ["after1.example.com", "after2.example.com"]) yield* heartbeat(name)
      yield* until("after", () => supervisor.find("Client1", "after2.example.com"))
      assert.isDefined(supervisor.find("Client1", "after1.example.com"))
      const metrics = yield* makePrometheus()
      assert.include(metrics, "heartbeat_mesh_ingress_restarts_total 2")
      assert.include(metrics, "heartbeat_mesh_ingress_up 1")
      push.close()
    }).pipe(Effect.provide(layer)))
})
