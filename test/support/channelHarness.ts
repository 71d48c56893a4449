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


/** What each HTTP kind's server answers when it accepts (what its transport checks). */
export const httpAnswers = {
  webhook: {},
  alerta: { status: "ok" },
  slack: {},
  telegram: { ok: true },
  pushover: { status: 1 },
  ntfy: {}
} as const
export type HttpKind = keyof typeof httpAnswers
export const httpKinds = Object.keys(httpAnswers) as Array<HttpKind>

/** A `channels:` entry of `kind` against the server at `url`, with `delivery` settings (`timeout: 1, ...`). */
export const httpChannelYaml = (kind: HttpKind, url: string, delivery: string) => {
  switch (kind) {
    case "webhook":
      return `{ type: webhook, url: "${url}/", ${delivery} }`
    case "alerta":
      return `{ type: alerta, url: "${url}", ${delivery} }`
    case "slack":
      return `{ type: slack, url: "${url}/hook", ${delivery} }`
    case "telegram":
      return `{ type: telegram, url: "${url}", bot_token: t, chat_id: "1", ${delivery} }`
    case "pushover":
      return `{ type: pushover, url: "${url}", token: t, user: u, ${delivery} }`
    case "ntfy":
      return `{ type: ntfy, url: "${url}", topic: hb, ${delivery} }`
  }
}
