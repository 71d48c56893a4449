import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { layerChannels } from "../src/notify/channels.ts"
import { layerTest } from "../src/notify/Notifier.ts"
import { layerNotificationJournal } from "../src/notify/NotificationJournal.ts"
import { flushChunkRows, layerOutbox, Outbox } from "../src/notify/Outbox.ts"
import { layerSilences } from "../src/notify/Silences.ts"
import { OutboxStore, type PendingDelivery } from "../src/notify/OutboxStore.ts"
import { server, timeoutNotification } from "./support/channelHarness.ts"
import { configFrom } from "./support/receiverHarness.ts"

/** A store that keeps rows in memory and records the size of every transaction. */
const recordingStore = () => {
  const rows = new Map<string, PendingDelivery>()
  const writes: Array<{ inserts: number; deletes: number }> = []
  const layer = Layer.succeed(OutboxStore)({
    location: "recording",
    loadAll: Effect.sync(() => [...rows.values()]),
    write: (inserts, deletes) =>
      Effect.sync(() => {
        writes.push({ inserts: inserts.length, deletes: deletes.length })
        for (const ref of deletes) rows.delete(`${ref.channel}\u0000${ref.id}`)
        for (const row of inserts) rows.set(`${row.channel}\u0000${row.id}`, row)
      })
  })
  return { rows, writes, layer }
}

describe("undelivered state changes are written in chunks", () => {
  it.live(`a backlog of 2,500 is written in transactions of at most ${flushChunkRows} rows, every row once`, () =>
    Effect.gen(function*() {
      // One send starts and never gets an answer; pacing keeps the rest queued: all 2,500 are owed.
      const remote = yield* server(() => {})
      const store = recordingStore()
      const config = configFrom(`
enabled: true
clients:
  C:
    token: aaaaaaaa
    timeout: 1
channels:
  hook: { type: webhook, url: "${remote.url}/", pacing: 3600, timeout: 3600 }
`)
      yield* Effect.gen(function*() {
        const outbox = yield* Outbox
        for (let i = 0; i < 2500; i++) outbox.enqueue({ ...timeoutNotification, resource: `r${i}.example.com` })
        yield* outbox.flush
        assert.deepStrictEqual(store.writes, [
          { inserts: 1000, deletes: 0 },
          { inserts: 1000, deletes: 0 },
          { inserts: 500, deletes: 0 }
        ])
        assert.strictEqual(store.rows.size, 2500)
        assert.strictEqual(new Set([...store.rows.values()].map((row) => row.notification.resource)).size, 2500)
        yield* outbox.flush
        assert.strictEqual(store.writes.length, 3, "nothing more owed: no empty transaction")
        remote.answerWaiting()
      }).pipe(
        Effect.provide(
          layerOutbox({ receiver: config.receiver, drainOnCloseMs: 0 }).pipe(
            Layer.provideMerge(layerChannels(config, { forceSend: false, notifierOnly: false })),
            Layer.provideMerge(layerSilences),
            Layer.provideMerge(layerNotificationJournal()),
            Layer.provideMerge(store.layer),
            Layer.provideMerge(layerTest)
          )
        )
      )
    }))
})
