import { Context, Effect, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import { ActorProbe } from "../../src/actors/ResourceActor.ts"
import { type ResourceChanged, ResourceChanges } from "../../src/changes/ResourceChanges.ts"
import { parseReceiverConfig, type ReceiverConfig } from "../../src/config/ReceiverConfig.ts"
import type { WireHeartbeat } from "../../src/domain/Heartbeat.ts"
import type { Notification } from "../../src/domain/Notification.ts"
import { layerTest, RecordedNotifications } from "../../src/notify/Notifier.ts"
import { Outbox } from "../../src/notify/Outbox.ts"
import { HeartbeatRouter } from "../../src/routing/HeartbeatRouter.ts"
import { layerReceiverCore, layerReceiverCoreListening } from "../../src/routing/ReceiverCore.ts"
import { layerMemoryStateStore, type StoredResource } from "../../src/store/StateStore.ts"

export const receiverName = "receiver.test"

/** Parses a receiver.yaml text that a test expects to be valid. */
export const configFrom = (yaml: string): ReceiverConfig => {
  const result = parseReceiverConfig(yaml, receiverName)
  if (Result.isFailure(result)) throw new Error(`test config invalid:\n${result.failure.join("\n")}`)
  return result.success
}

/** The SPEC example shape with the deployed timing defaults and no pacing. */
export const standardYaml = `
enabled: true
notify_devilry_sleep: 0
clients:
  Client1:
    token: aaaaaaaa
    timeout: 1
    severity: major
    resources:
      host1.example.com:
        severity: minor
        environment: infra
        service: database
        location: dc1
      host2.example.com: {}
  Client2:
    token: bbbbbbbb
    timeout: 2
    resources: {}
`

/** The receiver core on the test notifier, for an `it.effect` test (TestClock at 0). */
export const receiverLayer = (
  yaml: string = standardYaml,
  restored: ReadonlyArray<StoredResource> = [],
  probe: Layer.Layer<ActorProbe> = ActorProbe.layerNone
) =>
  layerReceiverCore(configFrom(yaml)).pipe(
    Layer.provideMerge(layerTest),
    Layer.provideMerge(layerMemoryStateStore(restored)),
    Layer.provide(probe)
  )

/** Every change the stream carried, from the first (the restore at start) on. */
export class RecordedChanges extends Context.Service<RecordedChanges, {
  readonly take: () => ReadonlyArray<ResourceChanged>
}>()("test/RecordedChanges") {}

const layerRecordedChanges = Layer.effect(
  RecordedChanges,
  Effect.gen(function*() {
    let recorded: Array<ResourceChanged> = []
    yield* (yield* ResourceChanges).subscribe((change) => recorded.push(change))
    return RecordedChanges.of({
      take: () => {
        const all = recorded
        recorded = []
        return all
      }
    })
  })
)

/** `receiverLayer` with a recorder subscribed to the change stream before the first change. */
export const recordingReceiverLayer = (yaml: string = standardYaml, restored: ReadonlyArray<StoredResource> = []) =>
  layerReceiverCoreListening(configFrom(yaml), layerRecordedChanges).pipe(
    Layer.provideMerge(layerTest),
    Layer.provideMerge(layerMemoryStateStore(restored)),
    Layer.provide(ActorProbe.layerNone)
  )

/** Sends one heartbeat at the current TestClock time. */
export const send = (token: string, resource: string, extra: Partial<WireHeartbeat> = {}) =>
  HeartbeatRouter.use((engine) => engine.ingest({ token, resource, ...extra }))

/** Lets every fiber due by now run, and the outbox hand everything to the notifier. */
export const settle = Effect.gen(function*() {
  yield* Effect.yieldNow
  const outbox = yield* Outbox
  yield* outbox.drained
})

/** Moves the TestClock to an absolute time in seconds since start, then settles. */
export const at = (seconds: number) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(seconds * 1000)
    yield* settle
  })

/** The notifications recorded since the last call, then forgets them. */
export const takeSent = Effect.gen(function*() {
  const recorded = yield* RecordedNotifications
  const all = recorded.all()
  recorded.clear()
  return all
})

export const eventsOf = (notifications: ReadonlyArray<Notification>) =>
  notifications.map((notification) => `${notification.event}:${notification.resource}`)

/** Sends a heartbeat for `resource` every `everySeconds` from `from` to `to` (inclusive), settling at each. */
export const keepAlive = (token: string, resource: string, from: number, to: number, everySeconds: number) =>
  Effect.gen(function*() {
    for (let t = from; t <= to; t += everySeconds) {
      yield* at(t)
      yield* send(token, resource)
    }
  })
