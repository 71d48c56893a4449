/**
 * The message journal (issue 18.2, hbd's `journal_*`): every message any ingress receives, one
 * JSON line each, in `journal_file`, rotated by size. The one seam every transport feeds
 * (`record`: the shared frame handler for ZeroMQ, UDP and CURVE; the HTTP ping itself). Recording
 * copies the frame into an arena and returns: masking, formatting and writing happen in the
 * journal's own fiber, a few times a second, off the heartbeat path. Tokens never reach the file:
 * a frame is written only when it is a JSON object, with every top-level `token` masked
 * (`journalLine.ts`); the HTTP ping hands over its request without the token.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import type { JournalSettings } from "../config/receiverRecords.ts"
import { RotatingFile } from "../files/RotatingFile.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { wallOffsetMillis } from "../support/monotonicTime.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { appendJournalLine, type JournalResult, LineBuffer, maskTopLevelToken, onOneLine, tokenValueSpans } from "./journalLine.ts"

/** The frame of a received message: its bytes (a wire frame), or what the transport made of it without the token (HTTP). */
export type JournalFrame = Uint8Array | Readonly<Record<string, unknown>> | undefined

export interface MessageJournalCounters {
  readonly written: number
  readonly dropped: number
  readonly writeErrors: number
  readonly rotations: number
  /** CPU time the writer has spent making and writing lines, in microseconds (the journal's cost beside `record`). */
  readonly writeCpuMicros: number
}

export interface MessageJournalService {
  /** False without `journal_file`: transports skip the call altogether. */
  readonly enabled: boolean
  /**
   * Keeps one received message for the journal. Synchronous and O(1); `nowMs` is on the receiver's
   * timeline. A wire frame is written only when it parsed as a JSON object (see `frameLeftOut`),
   * with its token masked; what a transport made of a request (HTTP) always.
   */
  readonly record: (
    transport: string,
    source: string | null,
    frame: JournalFrame,
    bytes: number,
    result: JournalResult,
    reason: string | undefined,
    nowMs: number
  ) => void
  readonly flush: Effect.Effect<void>
  readonly counters: () => MessageJournalCounters
}

/** No journal (`journal_file` unset). */
const journalOff: MessageJournalService = {
  enabled: false,
  record: () => {},
  flush: Effect.void,
  counters: () => ({ written: 0, dropped: 0, writeErrors: 0, rotations: 0, writeCpuMicros: 0 })
}

/**
 * The journal every ingress feeds: off unless a layer provides it (the daemon does when
 * `journal_file` is set), so tests and benchmarks that build an ingress need not mention it.
 */
export const MessageJournal: Context.Reference<MessageJournalService> = Context.Reference("heartbeat-mesh/ingress/MessageJournal", {
  defaultValue: () => journalOff
})

/**
 * Rejections whose frame is not one JSON object as sent (several parts, too large to keep, not
 * UTF-8, not JSON, not an object): only their size is kept, since where a token would be in them
 * cannot be known. Every other frame parsed as a JSON object, and is kept with its token masked.
 */
const frameLeftOut: ReadonlySet<string | undefined> = new Set(["multipart", "oversized", "invalid_utf8", "not_json", "not_object"])

/**
 * The messages waiting for the writer, as columns: no object per message, and the bytes of a frame
 * that will be written copied into one arena at once, so the transport's buffer dies young (held
 * for the 200 ms until the next write, a reference per message outlives the young generation and
 * costs the garbage collector more than the copy).
 */
class PendingMessages {
  count = 0
  readonly arena = new LineBuffer(256 * 1024)
  times = new Float64Array(1024)
  sizes = new Float64Array(1024)
  /** The frame's bytes in the arena; start -1: no frame kept (or an object, in `objects`). */
  starts = new Int32Array(1024)
  ends = new Int32Array(1024)
  readonly transports: Array<string> = []
  readonly sources: Array<string | null> = []
  readonly results: Array<JournalResult> = []
  readonly reasons: Array<string | undefined> = []
  readonly objects: Array<Readonly<Record<string, unknown>> | undefined> = []

  private grow(): void {
    const size = this.times.length * 2
    const grown = <T extends Float64Array | Int32Array>(from: T, to: T): T => {
      to.set(from)
      return to
    }
    this.times = grown(this.times, new Float64Array(size))
    this.sizes = grown(this.sizes, new Float64Array(size))
    this.starts = grown(this.starts, new Int32Array(size))
    this.ends = grown(this.ends, new Int32Array(size))
  }

  readonly add: MessageJournalService["record"] = (transport, source, frame, bytes, result, reason, nowMs) => {
    if (this.count === this.times.length) this.grow()
    const index = this.count++
    this.times[index] = nowMs
    this.sizes[index] = bytes
    this.transports[index] = transport
    this.sources[index] = source
    this.results[index] = result
    this.reasons[index] = reason
    this.starts[index] = -1
    this.objects[index] = undefined
    if (frame === undefined) return
    // What a transport made of a request holds no token: kept whatever became of it.
    if (!(frame instanceof Uint8Array)) this.objects[index] = frame
    else if (!frameLeftOut.has(reason)) {
      this.starts[index] = this.arena.length
      this.arena.copy(frame, 0, frame.length)
      this.ends[index] = this.arena.length
    }
  }

  clear(): void {
    this.count = 0
    this.arena.reset()
    // Let go of what the columns still hold (sources, HTTP frames).
    this.sources.length = 0
    this.objects.length = 0
  }
}

export interface MessageJournalOptions {
  /** How often the pending messages are written. */
  readonly flushIntervalMs: number
  /** Messages waiting for the writer, at most; more are dropped (counted). */
  readonly maxPending: number
  /** Frame bytes waiting for the writer, at most; more are dropped (counted). */
  readonly maxPendingBytes: number
}

export const defaultMessageJournalOptions: MessageJournalOptions = {
  flushIntervalMs: 200,
  maxPending: 200_000,
  maxPendingBytes: 64 * 1024 * 1024
}

/** A frame's JSON text, masked, the slow way (a string): for frames the byte path leaves (non-ASCII, line breaks). */
const frameText = (arena: Buffer, start: number, end: number): string | undefined => {
  const text = arena.toString("utf8", start, end)
  const masked = maskTopLevelToken(text)
  return masked === undefined ? undefined : onOneLine(masked)
}

/** The journal file cannot be opened at start: one line naming it and why. */
export class JournalOpenError extends Schema.TaggedError<JournalOpenError>()("JournalOpenError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `journal_file ${this.file} cannot be opened: ${this.reason}; make its folder writable for this user or change journal_file`
  }
}

/** The journal in `settings.file`, written behind by its own fiber. */
export const layerMessageJournal = (settings: JournalSettings, options: MessageJournalOptions = defaultMessageJournalOptions) =>
  Layer.effect(
    MessageJournal,
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const file = new RotatingFile(settings.file, settings.maxBytes, settings.keep)
      yield* Effect.try({
        try: () => file.open(),
        catch: (error) => new JournalOpenError({ file: settings.file, reason: (error instanceof Error ? error.message : String(error)).split("\n")[0]! })
      })
      const pending = new PendingMessages()
      let written = 0
      let dropped = 0
      let writeErrors = 0
      let writeCpuMicros = 0
      const logError = throttledLog(60_000)

      const record: MessageJournalService["record"] = (transport, source, frame, bytes, result, reason, nowMs) => {
        if (pending.count >= options.maxPending || pending.arena.length + bytes > options.maxPendingBytes) {
          dropped++
          return
        }
        pending.add(transport, source, frame, bytes, result, reason, nowMs)
      }

      const out = new LineBuffer()
      const spans: Array<number> = []
      const flush = Effect.suspend(() => {
        const count = pending.count
        if (count === 0) return Effect.void
        const cpuStarted = process.threadCpuUsage()
        const offset = wallOffsetMillis(clock)
        const arena = pending.arena.bytes
        let lastMs = Number.NaN
        let lastTime = ""
        for (let index = 0; index < count; index++) {
          const atMs = Math.floor(pending.times[index]! + offset)
          if (atMs !== lastMs) {
            lastMs = atMs
            lastTime = new Date(atMs).toISOString()
          }
          const entry = {
            transport: pending.transports[index]!,
            source: pending.sources[index]!,
            result: pending.results[index]!,
            reason: pending.reasons[index],
            bytes: pending.sizes[index]!
          }
          // The frame only where it is a JSON object (so its token can be found): its bytes masked
          // on the way (the common case), else its text masked, else left out.
          const start = pending.starts[index]!
          const end = pending.ends[index]!
          const object = pending.objects[index]
          if (start >= 0 && tokenValueSpans(arena, spans, start, end)) appendJournalLine(out, entry, lastTime, arena, spans, start, end)
          else appendJournalLine(out, entry, lastTime, start >= 0 ? frameText(arena, start, end) : object === undefined ? undefined : JSON.stringify(object), spans)
        }
        pending.clear()
        try {
          file.appendBytes(out.taken())
          out.reset()
          written += count
          return Effect.void
        } catch (error) {
          // A journal is not worth retrying into a full disk: these lines are lost, and counted.
          writeErrors++
          dropped += count
          file.close()
          out.reset()
          return logError(Effect.logError("message journal could not be written; these messages are not in it", {
            file: settings.file,
            messages: count,
            reason: (error instanceof Error ? error.message : String(error)).split("\n")[0]!
          }))
        } finally {
          const cpu = process.threadCpuUsage(cpuStarted)
          writeCpuMicros += cpu.user + cpu.system
        }
      })

      yield* runWriteBehind(options.flushIntervalMs, flush, "message journal write")
      yield* Effect.addFinalizer(() => Effect.sync(() => file.close()))
      yield* liveCounter("journal_messages_written_total", "Received messages written to the message journal", () => written)
      yield* liveCounter(
        "journal_messages_dropped_total",
        `Received messages left out of the journal: more than ${options.maxPending} (or ${options.maxPendingBytes} bytes) waiting, or a failed write`,
        () => dropped
      )
      yield* liveCounter("journal_write_errors_total", "Writes of the message journal that failed", () => writeErrors)
      yield* liveCounter("journal_rotations_total", "Rotations of the message journal file", () => file.rotations)
      yield* liveCounter("journal_write_cpu_seconds_total", "CPU time spent making and writing the message journal's lines", () => writeCpuMicros / 1e6)
      yield* Effect.logInfo("message journal on", { file: settings.file, maxBytes: settings.maxBytes, keep: settings.keep })

      const service: MessageJournalService = {
        enabled: true,
        record,
        flush,
        counters: () => ({ written, dropped, writeErrors, rotations: file.rotations, writeCpuMicros })
      }
      return service
    })
  )
