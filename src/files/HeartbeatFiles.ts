import { Clock, Context, Effect, Layer, Semaphore } from "effect"
import { Worker } from "node:worker_threads"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import { defaultHeartbeatFilesSettings } from "../config/heartbeatFilesConfig.ts"
import type { ResourceState } from "../monitor/resourceRules.ts"
import { liveCounter, liveGauge } from "../support/liveMetrics.ts"
import { monotonicMillis, wallOffsetMillis } from "../support/monotonicTime.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { utcStamp } from "./fileNames.ts"
import { heartbeatLine } from "./heartbeatLine.ts"
import { pythonJson, pythonNumber, pythonString } from "./pythonJson.ts"
import { type BatchWritten, maxSliceResources, type WriteBatch, type WriteBuffers, type WriterSettings } from "./heartbeatFileWriter.ts"

export interface HeartbeatFilesOptions {
  /** Holds `current/` and `history/`. */
  readonly directory: string
  /** Write-behind period: heartbeats reach the files within about this long. */
  readonly flushIntervalMs: number
  /** A history file is rotated before an append would take it past this (default 1 MiB). */
  readonly historyMaxBytes?: number
  /** Rotated history copies kept, `<file>.1` (newest) to `<file>.<keep>` (default 3). */
  readonly historyKeep?: number
  /** Resources per slice handed to the writer thread (default `maxSliceResources`; tests use a few). */
  readonly sliceResources?: number
}

/**
 * History lines kept per resource between two writes (normally one second apart), and bytes of
 * lines for all resources together. Past either, a heartbeat's history line is dropped (counted);
 * the resource's current file still gets its newest heartbeat.
 */
export const maxPendingLinesPerResource = 100
export const maxPendingBytes = 64 * 1024 * 1024

export interface HeartbeatFilesCounters {
  readonly flushes: number
  readonly filesWritten: number
  readonly writeErrors: number
  readonly rotations: number
  readonly historyLinesDropped: number
  /** How far behind the files are (see `heartbeat_mesh_file_lag_seconds`). */
  readonly lagSeconds: number
}

export class HeartbeatFiles extends Context.Service<HeartbeatFiles, {
  /** Writes everything pending now and waits until it is on disk (shutdown, tests). */
  readonly flush: Effect.Effect<void>
  readonly counters: () => HeartbeatFilesCounters
}>()("heartbeat-mesh/files/HeartbeatFiles") {}

/**
 * One heartbeat's history line, byte for byte `heartbeatLine` (json.dumps as the deployed receiver
 * wrote it, no token) and a newline, made in parts: `{"utc": "<stamp>", "resource": ` (the same for
 * every line of a second: made once), the resource's name as `pythonString` makes it, `, "payload": `,
 * `pythonJson` of the payload, and the timeout with the end. Every part is ASCII (json.dumps escapes
 * everything else), so a part's bytes are its characters. The stamp is wall-clock time: the
 * heartbeat's time on the receiver's timeline plus how far the wall clock is ahead of it
 * (`wallOffsetMillis`, read once per second). A test holds these lines to `heartbeatLine`.
 */
const makeStamps = (clock: Clock.Clock) => {
  let second = Number.NaN
  let prefix = ""
  return (timelineMs: number): string => {
    const now = Math.floor(timelineMs / 1000)
    if (now !== second) {
      second = now
      prefix = `{"utc": "${utcStamp(timelineMs + wallOffsetMillis(clock))}", "resource": `
    }
    return prefix
  }
}
const payloadKey = `, "payload": `
const payloadJson = (seen: ResourceState) => seen.payload === undefined || seen.payload === null ? "null" : pythonJson(seen.payload)
const lineSuffix = (seen: ResourceState) =>
  `, "timeout": ${
    seen.timeoutOverrideMinutes === undefined || seen.timeoutOverrideMinutes === null ? "null" : pythonNumber(seen.timeoutOverrideMinutes)
  }}\n`
const noTimeoutSuffix = `, "timeout": null}\n`

/** A resource with heartbeats (or a deregistration) not yet written. */
interface PendingResource {
  readonly client: string
  readonly resource: string
  readonly resourceJson: string
  /** Index of its newest line in the batch's line buffer; -1 for none. */
  last: number
  lines: number
  /** Its newest state, kept only once its lines no longer fit (the current file is made from it). */
  overflow: ResourceState | undefined
  remove: boolean
}

/**
 * The lines of the pending batch, appended as the heartbeats come into one byte buffer: a
 * heartbeat leaves no object behind for the garbage collector to carry until the write (held for
 * a second, each such object outlived the young generation). The line's parts are joined as one
 * string and written with one latin1 copy (all ASCII): cheaper than a write per part (225 vs 315 ns
 * measured; with UTF-8 encoding it was the other way round). The buffers are moved to the writer
 * thread with the batch and come back with its answer, so no batch copies bytes or touches fresh
 * memory (page faults on fresh buffers cost more than the copying itself, measured).
 */
class LineBuffer {
  bytes: Buffer = Buffer.from(new ArrayBuffer(1024 * 1024))
  used = 0
  /** Per line: start, length, previous line of the same resource. */
  links = new Int32Array(3 * 16 * 1024)
  count = 0
  private spare: { readonly bytes: ArrayBuffer; readonly links: ArrayBuffer } | undefined = undefined

  /** Appends one line after `previous`; its index, or -1 when the batch is full. */
  add(prefix: string, resourceJson: string, payload: string, suffix: string, previous: number): number {
    // Every part is ASCII: one byte per character.
    const line = prefix + resourceJson + payloadKey + payload + suffix
    const most = line.length
    if (this.used + most > this.bytes.length) {
      if (this.used + most > maxPendingBytes) return -1
      const grown = Buffer.from(new ArrayBuffer(Math.min(maxPendingBytes, Math.max(2 * this.bytes.length, this.used + most))))
      grown.set(this.bytes.subarray(0, this.used))
      this.bytes = grown
    }
    if (3 * this.count + 3 > this.links.length) {
      const grown = new Int32Array(2 * this.links.length)
      grown.set(this.links)
      this.links = grown
    }
    const start = this.used
    const at = start + this.bytes.write(line, start, "latin1")
    const link = 3 * this.count
    this.links[link] = start
    this.links[link + 1] = at - start
    this.links[link + 2] = previous
    this.used = at
    return this.count++
  }

  /** The filled buffers, to be moved to the writer; this goes on with the spare ones (or new ones). */
  handOver(): { readonly bytes: ArrayBuffer; readonly links: ArrayBuffer } {
    const filled = { bytes: this.bytes.buffer as ArrayBuffer, links: this.links.buffer as ArrayBuffer }
    const next = this.spare
    this.spare = undefined
    this.bytes = Buffer.from(next?.bytes ?? new ArrayBuffer(filled.bytes.byteLength))
    this.links = new Int32Array(next?.links ?? new ArrayBuffer(filled.links.byteLength))
    this.used = 0
    this.count = 0
    return filled
  }

  /** Buffers back from the writer: kept for the next batch unless they are far larger than needed. */
  giveBack(bytes: ArrayBuffer, links: ArrayBuffer, used: number): void {
    if (bytes.byteLength > 1024 * 1024 && bytes.byteLength > 4 * used) return
    this.spare = { bytes, links }
  }
}

/**
 * One slice of a write for the writer thread: up to `maxSliceResources` resources; the write's lines
 * as bytes (moved, not copied) go with its first slice; file names are made there.
 */
const sliceOf = (
  id: number,
  entries: ReadonlyArray<PendingResource>,
  buffers: WriteBuffers | undefined,
  final: boolean,
  wallOffsetMs: number,
  errors: Array<string>
): WriteBatch => {
  const names: Array<string> = []
  const current: Array<string> = []
  const last = new Int32Array(entries.length)
  const remove = new Uint8Array(entries.length)
  let item = 0
  for (const entry of entries) {
    let content = ""
    if (entry.overflow !== undefined) {
      try {
        const seen = entry.overflow
        content = heartbeatLine(entry.resource, (seen.lastSeenMs ?? 0) + wallOffsetMs, seen.payload, seen.timeoutOverrideMinutes)
      } catch (error) {
        errors.push(`${entry.client}/${entry.resource.slice(0, 120)}: file content: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    names.push(entry.client, entry.resource)
    current.push(content)
    last[item] = entry.last
    remove[item] = entry.remove ? 1 : 0
    item++
  }
  return { id, buffers, final, names, last, current, remove }
}

const writerUrl = new URL("./heartbeatFileWriter.ts", import.meta.url)

/**
 * The writer thread's V8 heap: its young generation at most 16 MB and its old one 512 MB (what it
 * keeps is each resource's decided file name: ~220 B a resource, 220 MB at a million). Past that it
 * stops (counted in `heartbeat_files_writer_starts_total`, logged) and a new one takes the next
 * write, reading the names back from the current files.
 */
export const writerResourceLimits = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 512 }

/**
 * The deployed version's heartbeat files (SPEC 3.3), for logging and external tools:
 * `current/<client>/<resource>.json` holds the last heartbeat, `history/...` one line per heartbeat,
 * rotated at `historyMaxBytes` with `historyKeep` copies. A subscriber of the change stream: a
 * heartbeat appends its line to the pending batch's buffer, coalesced per resource (a
 * deregistration marks the files for removal). Every `flushIntervalMs` the batch goes to a writer
 * thread (`heartbeatFileWriter.ts`) that writes each resource's files with synchronous calls: the
 * file system costs the event loop nothing, and while a batch is being written the next one
 * gathers (one batch at a time, so a slow disk holds at most one batch plus what came since). A
 * write error is logged (naming the resource, at most once a minute) and counted, one resource's
 * failure never stops another's files, and monitoring goes on. Tokens are never written.
 */
export const layerHeartbeatFiles = (options: HeartbeatFilesOptions) =>
  Layer.effect(
    HeartbeatFiles,
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const stampPrefixOf = makeStamps(clock)
      const settings: WriterSettings = {
        directory: options.directory,
        historyMaxBytes: options.historyMaxBytes ?? defaultHeartbeatFilesSettings.historyMaxBytes,
        historyKeep: options.historyKeep ?? defaultHeartbeatFilesSettings.historyKeep
      }
      const sliceResources = options.sliceResources ?? maxSliceResources
      // Keyed by the change's key (one string per resource): the heartbeat path is a get and an append.
      let pending = new Map<string, PendingResource>()
      const lines = new LineBuffer()
      /** When (on the receiver's timeline, as `moment.nowMs`) the oldest heartbeat not yet handed to the writer was received. */
      let pendingSinceMs: number | undefined = undefined
      /** When the oldest heartbeat of the batch being written was received. */
      let writingSinceMs: number | undefined = undefined
      /** How long the last batch's oldest heartbeat waited until it was on disk. */
      let lastBatchLagMs = 0
      let flushes = 0
      let filesWritten = 0
      let writeErrors = 0
      let rotations = 0
      let historyLinesDropped = 0
      /** Lines that could not be made (a payload without a JSON form), for the next write's log. */
      const contentErrors: Array<string> = []
      const logWriteError = throttledLog(60_000)
      const logWriterFailure = throttledLog(60_000)

      const pendingFor = (key: string, client: string, resource: string, nowMs: number) => {
        let entry = pending.get(key)
        if (entry === undefined) {
          entry = {
            client,
            resource,
            resourceJson: pythonString(resource),
            last: -1,
            lines: 0,
            overflow: undefined,
            remove: false
          }
          pending.set(key, entry)
          if (pendingSinceMs === undefined) pendingSinceMs = nowMs
        }
        return entry
      }

      const changes = yield* ResourceChanges
      yield* changes.subscribe(({ cause, key, profile, after, moment }) => {
        if (cause === "heartbeat" && after !== undefined) {
          // A deregistration earlier in this batch stays: its files go first, then these are written.
          const entry = pendingFor(key, profile.client, profile.resource, moment.nowMs)
          let at = -1
          if (entry.lines < maxPendingLinesPerResource) {
            try {
              const suffix = after.timeoutOverrideMinutes === undefined ? noTimeoutSuffix : lineSuffix(after)
              at = lines.add(stampPrefixOf(after.lastSeenMs ?? 0), entry.resourceJson, payloadJson(after), suffix, entry.last)
            } catch (error) {
              if (contentErrors.length < 10) contentErrors.push(`${profile.client}/${profile.resource.slice(0, 120)}: file content: ${error instanceof Error ? error.message : String(error)}`)
              return
            }
          }
          if (at >= 0) {
            entry.last = at
            entry.lines++
            entry.overflow = undefined
          } else {
            historyLinesDropped++
            entry.overflow = after
          }
        } else if (cause === "deregister") {
          const entry = pendingFor(key, profile.client, profile.resource, moment.nowMs)
          entry.last = -1
          entry.lines = 0
          entry.overflow = undefined
          entry.remove = true
        }
      })

      // The writer thread: started now, replaced at the next write if it ever dies.
      let writer: Worker | undefined = undefined
      const waiting = new Map<number, (answer: BatchWritten | Error) => void>()
      const failAll = (error: Error) => {
        for (const answer of waiting.values()) answer(error)
        waiting.clear()
      }
      let writerStarts = 0
      const startWriter = () => {
        writerStarts++
        const worker = new Worker(writerUrl, { workerData: settings, resourceLimits: writerResourceLimits })
        worker.unref()
        worker.on("message", (answer: BatchWritten) => {
          const resume = waiting.get(answer.id)
          waiting.delete(answer.id)
          resume?.(answer)
        })
        worker.on("error", (error) => {
          if (writer === worker) writer = undefined
          failAll(error)
        })
        worker.on("exit", (code) => {
          if (writer === worker) writer = undefined
          failAll(new Error(`the heartbeat file writer stopped (exit code ${code})`))
        })
        writer = worker
        return worker
      }
      startWriter()
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          const worker = writer
          writer = undefined
          if (worker !== undefined) await worker.terminate()
        })
      )

      const write = (batch: WriteBatch) =>
        Effect.callback<BatchWritten, Error>((resume) => {
          waiting.set(batch.id, (answer) => resume(answer instanceof Error ? Effect.fail(answer) : Effect.succeed(answer)))
          // The write's bytes are its own copies: moved to the writer, not copied again.
          const buffers = batch.buffers
          ;(writer ?? startWriter()).postMessage(batch, buffers === undefined ? [] : [buffers.bytes, buffers.lines])
        })

      let nextBatchId = 0
      const writeOnce = Effect.gen(function*() {
        if (pending.size === 0 && contentErrors.length === 0) return
        const errors = contentErrors.splice(0)
        const entries = [...pending.values()]
        const used = lines.used
        const filled = lines.handOver()
        const wallOffsetMs = wallOffsetMillis(clock)
        const sinceMs = pendingSinceMs
        pending = new Map()
        pendingSinceMs = undefined
        writingSinceMs = sinceMs
        // In slices, one at a time: what crosses to the writer at once stays bounded at any fleet size.
        for (let from = 0; from === 0 || from < entries.length; from += sliceResources) {
          const slice = entries.slice(from, from + sliceResources)
          const final = from + sliceResources >= entries.length
          const buffers = from === 0 ? { bytes: filled.bytes, used, lines: filled.links } : undefined
          const written = yield* Effect.result(write(sliceOf(nextBatchId++, slice, buffers, final, wallOffsetMs, errors)))
          if (written._tag === "Failure") {
            // A defect of the writer thread (it is started again for the next write): the files of
            // this slice and the ones after it wait for their resources' next heartbeats.
            writingSinceMs = undefined
            writeErrors += entries.length - from
            return yield* logWriterFailure(Effect.logError("the heartbeat file writer failed; this batch's files are written at their next heartbeat, monitoring goes on", {
              directory: options.directory,
              resources: entries.length - from,
              error: written.failure.message
            }))
          }
          const answer = written.success
          if (answer.buffers !== undefined) lines.giveBack(answer.buffers.bytes, answer.buffers.lines, used)
          filesWritten += answer.written
          rotations += answer.rotated
          errors.push(...answer.errors)
        }
        writingSinceMs = undefined
        flushes++
        if (sinceMs !== undefined) lastBatchLagMs = Math.max(0, monotonicMillis(clock) - sinceMs)
        if (errors.length === 0) return
        writeErrors += errors.length
        yield* logWriteError(Effect.logError("heartbeat files could not be written; the other resources' files were, monitoring goes on", {
          directory: options.directory,
          failures: errors.length,
          first: errors[0],
          ...(errors.length > 1 ? { second: errors[1] } : {})
        }))
      })
      // The periodic write and an explicit flush never overlap: one batch at a time.
      const flush = Semaphore.makeUnsafe(1).withPermit(writeOnce)

      const lagSeconds = () => {
        const oldest = Math.min(pendingSinceMs ?? Infinity, writingSinceMs ?? Infinity)
        const waitingMs = oldest === Infinity ? 0 : Math.max(0, monotonicMillis(clock) - oldest)
        return Math.max(waitingMs, lastBatchLagMs) / 1000
      }

      yield* runWriteBehind(options.flushIntervalMs, flush)
      yield* liveCounter("heartbeat_files_written_total", "Heartbeat files written (current replaced, history appended)", () => filesWritten)
      yield* liveCounter("heartbeat_files_errors_total", "Heartbeat file writes or removals that failed", () => writeErrors)
      yield* liveCounter("heartbeat_files_writer_starts_total", "Heartbeat file writer threads started (1 at start; more: one stopped, by a defect or its heap limit)", () => writerStarts)
      yield* liveCounter("heartbeat_files_rotations_total", "History files rotated at history_max_bytes", () => rotations)
      yield* liveCounter(
        "heartbeat_files_history_dropped_total",
        `History lines dropped: more than ${maxPendingLinesPerResource} heartbeats of one resource, or ${maxPendingBytes / 1024 / 1024} MiB of lines, between two writes`,
        () => historyLinesDropped
      )
      yield* liveGauge(
        "file_lag_seconds",
        "How far the heartbeat files are behind: the oldest heartbeat not yet written, or the last write's oldest heartbeat",
        lagSeconds
      )

      return HeartbeatFiles.of({
        flush,
        counters: () => ({ flushes, filesWritten, writeErrors, rotations, historyLinesDropped, lagSeconds: lagSeconds() })
      })
    })
  )
