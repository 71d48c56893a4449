import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorProbe } from "../src/actors/ResourceActor.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { Outbox } from "../src/notify/Outbox.ts"
import { layerSqliteOutboxStore } from "../src/notify/sqliteOutboxStore.ts"
import { layerReceiverCore } from "../src/routing/ReceiverCore.ts"
import { layerMemoryStateStore } from "../src/store/StateStore.ts"
import { enqueue, httpAnswers, httpChannelYaml, httpKinds, server, timeoutNotification } from "./support/channelHarness.ts"
import { configFrom } from "./support/receiverHarness.ts"

const dir = mkdtempSync(join(tmpdir(), "hbm-redelivery-"))
let databases = 0

/**
 * One life of a receiver's notification side with its undelivered state changes in a real SQLite
 * file: the outbox, its channels and the state.db table (the state store itself in memory).
 */
const life = (channelYaml: string, database: string) =>
  layerReceiverCore(configFrom(`
enabled: true
clients:
  C:
    token: aaaaaaaa
    timeout: 1
channels:
  c: ${channelYaml}
`)).pipe(
    Layer.provideMerge(layerSqliteOutboxStore(database)),
    Layer.provideMerge(layerTest),
    Layer.provideMerge(layerMemoryStateStore()),
    Layer.provide(ActorProbe.layerNone)
  )

/** The first life: the channel gives up on the timeout; written to the database before it ends. */
const firstLife = (channelYaml: string, database: string) =>
  Effect.gen(function*() {
    const outbox = yield* Outbox
    yield* enqueue(timeoutNotification)
    yield* outbox.drained
    assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: 0, failed: 1 }])
    yield* outbox.flush
  }).pipe(Effect.provide(life(channelYaml, database)))

/** A next life: what is owed (`owed` notifications) is queued again at start, before anything new, and delivered. */
const nextLife = (channelYaml: string, database: string, owed = 1) =>
  Effect.gen(function*() {
    const outbox = yield* Outbox
    yield* outbox.drained
    assert.deepStrictEqual(outbox.channelCounters().map(({ sent, failed }) => ({ sent, failed })), [{ sent: owed, failed: 0 }])
  }).pipe(Effect.provide(life(channelYaml, database)))

describe("restart redelivery of every kind (a real SQLite outbox table, real servers and processes)", () => {
  it.live.each(httpKinds)("%s: refused in one life, delivered in the next with the same request", (kind) =>
    Effect.gen(function*() {
      let accepting = false
      const remote = yield* server((_, response) => {
        response.writeHead(accepting ? 200 : 503, { "content-type": "application/json" })
        response.end(accepting ? JSON.stringify(httpAnswers[kind]) : "busy")
      })
      const channel = httpChannelYaml(kind, remote.url, "retries: 0")
      const database = join(dir, `state-${databases++}.db`)
      yield* firstLife(channel, database)
      assert.strictEqual(remote.requests.length, 1)
      accepting = true
      yield* nextLife(channel, database)
      assert.strictEqual(remote.requests.length, 2)
      const [refused, delivered] = remote.requests
      // The same notification under the same id (webhook `id`, alerta `notificationId`, ntfy's header).
      assert.strictEqual(delivered!.body, refused!.body)
      // (pushover's body is a form)
      assert.include(decodeURIComponent(delivered!.body.replaceAll("+", " ")), "Heartbeat from db1 (client C) timed out")
      for (const header of ["idempotency-key", "x-sequence-id"]) assert.strictEqual(delivered!.headers[header], refused!.headers[header])
      // Given up and then delivered: nothing is left owed.
      yield* nextLife(channel, database, 0)
      assert.strictEqual(remote.requests.length, 2)
    }))

  it.live("notify_devilry: a run that failed in one life runs again in the next", () =>
    Effect.gen(function*() {
      const folder = mkdtempSync(join(dir, "devilry-"))
      const script = join(folder, "notify_devilry.sh")
      const open = join(folder, "open")
      const delivered = join(folder, "delivered.jsonl")
      writeFileSync(script, `#!/bin/sh\nline=$(cat)\n[ -e "${open}" ] || { echo refused; exit 3; }\nprintf '%s\\n' "$line" >> "${delivered}"\n`)
      chmodSync(script, 0o755)
      const channel = `{ type: notify_devilry, command: ${script}, retries: 0 }`
      const database = join(dir, `state-${databases++}.db`)
      yield* firstLife(channel, database)
      assert.isFalse(existsSync(delivered))
      writeFileSync(open, "")
      yield* nextLife(channel, database)
      const lines = readFileSync(delivered, "utf8").split("\n").filter((line) => line !== "")
      assert.deepStrictEqual(lines.map((line) => JSON.parse(line)), [timeoutNotification])
    }))
})
