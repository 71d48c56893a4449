import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { defaultMessageJournalOptions, layerMessageJournal, MessageJournal, type MessageJournalService } from "../src/ingress/MessageJournal.ts"

const token = "writer-secret-token"
const countsOf = (journal: MessageJournalService) => {
  const { writeCpuMicros: _, ...counts } = journal.counters()
  return counts
}
const frame = (resource: string) => Buffer.from(JSON.stringify({ token, resource }))

describe("message journal writer (real files)", () => {
  it.effect("off by default: a journal nobody provided keeps nothing", () =>
    Effect.gen(function*() {
      const journal = yield* MessageJournal
      assert.isFalse(journal.enabled)
      journal.record("zmq", null, frame("a"), 10, "accepted", undefined, 0)
      assert.deepStrictEqual(countsOf(journal), { written: 0, dropped: 0, writeErrors: 0, rotations: 0 })
    }))

  it.effect("past its pending bound, messages are left out and counted, never queued", () =>
    Effect.gen(function*() {
      const file = join(mkdtempSync(join(tmpdir(), "hbm-journal-")), "j.jsonl")
      yield* Effect.gen(function*() {
        const journal = yield* MessageJournal
        for (let index = 0; index < 5; index++) journal.record("zmq", null, frame(`r${index}`), 40, "accepted", undefined, 0)
        yield* journal.flush
        assert.deepStrictEqual(countsOf(journal), { written: 3, dropped: 2, writeErrors: 0, rotations: 0 })
      }).pipe(Effect.provide(layerMessageJournal({ file, maxBytes: 4096, keep: 1 }, { ...defaultMessageJournalOptions, maxPending: 3 })))
      const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line))
      assert.deepStrictEqual(lines.map((line) => line.frame), ["r0", "r1", "r2"].map((resource) => ({ token: "***", resource })))
    }))

  it.effect("frames the byte path leaves (non-ASCII, line breaks) are masked the text way; frames refused past the decoder kept masked; not-objects and oversized ones by size only", () =>
    Effect.gen(function*() {
      const file = join(mkdtempSync(join(tmpdir(), "hbm-journal-")), "j.jsonl")
      yield* Effect.gen(function*() {
        const journal = yield* MessageJournal
        journal.record("zmq", null, Buffer.from(`{"resource":"café",\r\n"token":"${token}"}\n`), 40, "accepted", undefined, 0)
        journal.record("zmq", null, Buffer.from(`{"resource":"a\u2028b","token":"${token}"}`), 40, "rejected", "unknown_token", 0)
        journal.record("zmq", null, Buffer.from(`{"token":"${token}"`), 40, "rejected", "not_json", 0)
        // Parsed as an object, refused past the decoder: kept, masked; too large: only its size.
        journal.record("zmq", null, Buffer.from(`{"token":"${token}","payload":[[[1]]]}`), 40, "rejected", "payload_too_deep", 0)
        journal.record("zmq", null, Buffer.from(`{"token":"${token}","resource":"big"}`), 70_000, "rejected", "oversized", 0)
        yield* journal.flush
      }).pipe(Effect.provide(layerMessageJournal({ file, maxBytes: 4096, keep: 1 })))
      const text = readFileSync(file, "utf8")
      assert.notInclude(text, token)
      const lines = text.trim().split("\n").map((line) => JSON.parse(line))
      assert.deepStrictEqual(lines.map((line) => line.frame), [
        { resource: "café", token: "***" },
        { resource: "a\u2028b", token: "***" },
        undefined,
        { token: "***", payload: [[[1]]] },
        undefined
      ])
    }))

  it.effect("a write that fails (a full disk: /dev/full) drops its batch, counted, and the next batch tries again", () =>
    Effect.gen(function*() {
      const journal = yield* MessageJournal
      journal.record("udp", "127.0.0.1:1", frame("a"), 40, "accepted", undefined, 0)
      journal.record("udp", "127.0.0.1:1", frame("b"), 40, "accepted", undefined, 0)
      yield* journal.flush
      assert.deepStrictEqual(countsOf(journal), { written: 0, dropped: 2, writeErrors: 1, rotations: 0 })
      journal.record("udp", "127.0.0.1:1", frame("c"), 40, "accepted", undefined, 0)
      yield* journal.flush
      assert.deepStrictEqual(countsOf(journal), { written: 0, dropped: 3, writeErrors: 2, rotations: 0 })
    }).pipe(Effect.provide(layerMessageJournal({ file: "/dev/full", maxBytes: 1024 ** 3, keep: 1 }))))

  it.effect("a journal file that cannot be opened fails the start with one sentence naming it", () =>
    Effect.gen(function*() {
      const folder = mkdtempSync(join(tmpdir(), "hbm-journal-"))
      writeFileSync(join(folder, "not-a-folder"), "")
      const file = join(folder, "not-a-folder", "j.jsonl")
      const exit = yield* Effect.exit(Effect.scoped(Effect.provide(Effect.void, layerMessageJournal({ file, maxBytes: 4096, keep: 1 }))))
      assert.isTrue(Exit.isFailure(exit))
      const message = Exit.isFailure(exit) ? String(exit.cause) : ""
      assert.include(message, `journal_file ${file} cannot be opened`)
      assert.include(message, "change journal_file")
    }))
})
