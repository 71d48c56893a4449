import { Effect, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorProbe } from "../../src/actors/ResourceActor.ts"
import type { Notification } from "../../src/domain/Notification.ts"
import { layerTest } from "../../src/notify/Notifier.ts"
import { Outbox } from "../../src/notify/Outbox.ts"
import { layerReceiverCore } from "../../src/routing/ReceiverCore.ts"
import { layerMemoryStateStore } from "../../src/store/StateStore.ts"
import { httpRecorder } from "./httpRecorder.ts"
import { configFrom } from "./receiverHarness.ts"

const dir = mkdtempSync(join(tmpdir(), "hbm-channels-"))
export const secretFile = (name: string, value: string) => {
  const path = join(dir, name)
  writeFileSync(path, `${value}\n`)
  return path
}

export const timeoutNotification: Notification = {
  severity: "major",
  event: "heartbeat_mesh_heartbeat_timeout",
  text: "Heartbeat from db1 (client C) timed out: last one 125 s ago, timeout 60 s",
  resource: "db1.example.com",
  service: "database",
  group: "db1.example.com",
  value: 125,
  origin: "heartbeat_mesh/receiver.py",
  client: "C",
  environment: "infra",
  correlate: ["heartbeat_mesh_heartbeat_ok"],
  attributes: { receiver: "rx", timeout: 60 }
}

/** A receiver whose channels are the given `channels:` (and routes) block. */
export const withChannels = (channels: string) =>
  layerReceiverCore(configFrom(`
enabled: true
clients:
  C:
    token: aaaaaaaa
    timeout: 1
${channels}
`)).pipe(Layer.provideMerge(layerTest), Layer.provideMerge(layerMemoryStateStore()), Layer.provide(ActorProbe.layerNone))

export const enqueue = (notification: Notification) =>
  Outbox.use((outbox) => Effect.sync(() => outbox.enqueue(notification)))

export const server = (answer?: Parameters<typeof httpRecorder>[0]) =>
  Effect.acquireRelease(Effect.promise(() => httpRecorder(answer)), (recorder) => Effect.promise(recorder.close))

