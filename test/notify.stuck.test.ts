import { assert, describe, it } from "@effect/vitest"
import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { Clock, Effect, Layer } from "effect"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { readinessProblems } from "../src/http/readiness.ts"
import { Notifier } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { layerNoSilenceStore } from "../src/notify/SilenceStore.ts"
import { layerNoOutboxStore } from "../src/notify/OutboxStore.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"
import { monotonicMillis } from "../src/support/monotonicTime.ts"
import { configFrom, send } from "./support/receiverHarness.ts"

// A notify_devilry that does not stop when its time is up (a process that ignores the kill, a
// transport that cannot be interrupted): the attempt goes on past notify_devilry_timeout.
// Only its first attempt hangs; the retry goes through.
let attempts = 0
const stuckNotifier = Layer.succeed(Notifier)({
  name: "notify_devilry",
  send: () => (attempts++ === 0 ? Effect.uninterruptible(Effect.sleep("10 seconds")) : Effect.void)
})

const layer = layerReceiverCore(configFrom(`
enabled: true
grace_period: 0
notify_devilry_sleep: 0
notify_devilry_timeout: 0.3
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
`)).pipe(
  Layer.provideMerge(Layer.mergeAll(stuckNotifier, layerNoOutboxStore, layerNoSilenceStore, NodeServices.layer, NodeHttpClient.layerUndici)),
  Layer.provideMerge(layerMemoryStateStore()),
  Layer.provide(ActorProbe.layerNone)
)

const up = { up: true, sinceMs: 0, reason: undefined, restartDelayMs: undefined, restarts: 0 } as const
const fine = { failingSinceMs: undefined, lastFailure: undefined }

describe("a stuck notifier makes the receiver not ready (issue 13.4)", () => {
  // Live time: TestClock cannot move past an attempt that refuses to be interrupted.
  it.live("an attempt running past its timeout is reported; once it ends, it is not", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox
      const clock = yield* Clock.Clock
      const problems = () => {
        const nowMs = monotonicMillis(clock)
        return readinessProblems({ ingress: up, state: fine, stuckNotifiers: outbox.stuck(nowMs) }, nowMs)
      }
      // The first heartbeat raises `new`: the channel's worker starts its (hanging) attempt.
      yield* send("aaaaaaaa", "host.example.com")
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(problems(), [])
      // notify_devilry's time limit is notify_devilry_timeout plus 5 s to stop the process group.
      yield* Effect.sleep("5500 millis")
      const stuck = problems()
      assert.lengthOf(stuck, 1)
      assert.match(stuck[0]!, /^notifier notify_devilry stuck for [5-9] s, past its timeout of 5 s$/)
      assert.strictEqual(outbox.stuck(monotonicMillis(clock))[0]?.timeoutMs, 5300)
      // The attempt finally ends and the retry goes through: ready again.
      yield* outbox.drained
      assert.deepStrictEqual(problems(), [])
      // Both notifications of the first heartbeat (new, then ok) went out in the end.
      assert.strictEqual(outbox.counters().sent, 2)
    }).pipe(Effect.provide(layer)))
})
