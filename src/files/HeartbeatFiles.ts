import { Clock, Context, Effect, Layer } from "effect"
import { appendFile, mkdir, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { ResourceChanges } from "../changes/ResourceChanges.ts"
import type { ResourceState } from "../monitor/resourceRules.ts"
import { liveCounter } from "../support/liveMetrics.ts"
import { wallOffsetMillis } from "../support/monotonicTime.ts"
import { runWriteBehind, throttledLog } from "../support/writeBehind.ts"
import { clientFolderName, ResourceFileNames } from "./fileNames.ts"
import { heartbeatLine } from "./heartbeatLine.ts"

export interface HeartbeatFilesOptions {
  /** Holds `current/` and `history/`. */
  readonly directory: string
  /** Write-behind period: heartbeats reach the files within about this long. */
  readonly flushIntervalMs: number
}

export interface HeartbeatFilesCounters {
  readonly flushes: number
  readonly filesWritten: number
  readonly writeErrors: number
}

export class HeartbeatFiles extends Context.Service<HeartbeatFiles, {
  /** Writes everything pending now (shutdown, tests). */
  readonly flush: Effect.Effect<void>
  readonly counters: () => HeartbeatFilesCounters
}>()("heartbeat-mesh/files/HeartbeatFiles") {}

interface PendingResource {
  readonly client: string
  readonly resource: string
  /** The state after each heartbeat since the last write, oldest first; the last one is the current file. */
  seen: Array<ResourceState>
  remove: boolean
}

/**
 * One heartbeat's line, as the deployed receiver wrote it (json.dumps, no token: see heartbeatLine.ts);
 * its time as wall-clock time (`wallOffsetMs`: wall clock less the receiver's timeline).
 */
const lineOf = (resource: string, seen: ResourceState, wallOffsetMs: number): string =>
  heartbeatLine(resource, (seen.lastSeenMs ?? 0) + wallOffsetMs, seen.payload, seen.timeoutOverrideMinutes)

const writeConcurrency = 16

/**
 * The deployed version's heartbeat files (SPEC 3.3), for logging and external tools:
 * `current/<client>/<resource>.json` holds the last heartbeat, `history/...` one line per heartbeat.
 * A subscriber of the change stream: a heartbeat only records the new state in memory (a
 * deregistration marks the files for removal); a fiber writes in batches, so a slow or full disk
 * never slows ingestion, and a write error is logged (naming the resource, at most once a minute)
 * and counted while monitoring goes on; one resource's failure never stops another's files.
 * Tokens are never written.
 */
export const layerHeartbeatFiles = (options: HeartbeatFilesOptions) =>
  Layer.effect(
    HeartbeatFiles,
    Effect.gen(function*() {
      // By client, then resource: the heartbeat path only appends to an array (names and JSON are
      // made at write time, once per resource per flush).
      let pending = new Map<string, Map<string, PendingResource>>()
      const createdFolders = new Set<string>()
      const fileNames = new ResourceFileNames(join(options.directory, "current"))
      let flushes = 0
      let filesWritten = 0
      let writeErrors = 0
      const logWriteError = throttledLog(60_000)

      const pendingFor = (client: string, resource: string) => {
        let resources = pending.get(client)
        if (resources === undefined) {
          resources = new Map()
          pending.set(client, resources)
        }
        let entry = resources.get(resource)
        if (entry === undefined) {
          entry = { client, resource, seen: [], remove: false }
          resources.set(resource, entry)
        }
        return entry
      }

      const changes = yield* ResourceChanges
      const clock = yield* Clock.Clock
      yield* changes.subscribe(({ cause, profile, after }) => {
        if (cause === "heartbeat" && after !== undefined) {
          // A deregistration earlier in this batch stays: its files go first, then these are written.
          pendingFor(profile.client, profile.resource).seen.push(after)
        } else if (cause === "deregister") {
          const entry = pendingFor(profile.client, profile.resource)
          entry.seen = []
          entry.remove = true
        }
      })

      const ensureFolder = async (path: string) => {
        if (createdFolders.has(path)) return
        await mkdir(path, { recursive: true })
        createdFolders.add(path)
      }

      /** Writes one resource's files; returns what failed, each naming the resource. Never throws. */
      const writeOne = async (entry: PendingResource, wallOffsetMs: number): Promise<Array<string>> => {
        const errors: Array<string> = []
        const name = `${entry.client}/${entry.resource.slice(0, 120)}`
        const attempt = async (what: string, action: () => Promise<void>) => {
          try {
            await action()
          } catch (error) {
            errors.push(`${name}: ${what}: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`)
          }
        }
        let folder = ""
        let file = ""
        let lines: Array<string> = []
        await attempt("file name and content", async () => {
          folder = clientFolderName(entry.client)
          file = await fileNames.fileFor(folder, entry.resource)
          lines = entry.seen.map((seen) => lineOf(entry.resource, seen, wallOffsetMs))
        })
        if (errors.length > 0) return errors
        const currentDir = join(options.directory, "current", folder)
        const historyDir = join(options.directory, "history", folder)
        if (entry.remove) {
          await attempt("remove current", () => rm(join(currentDir, file), { force: true }))
          await attempt("remove history", () => rm(join(historyDir, file), { force: true }))
          fileNames.forget(folder, entry.resource)
          if (lines.length > 0) await attempt("file name", async () => {
            file = await fileNames.fileFor(folder, entry.resource)
          })
        }
        if (lines.length > 0) {
          await attempt("write current", async () => {
            await ensureFolder(currentDir)
            const target = join(currentDir, file)
            // No newline after the current file's one line, as the deployed json.dump left it.
            await writeFile(`${target}.tmp`, lines[lines.length - 1]!)
            await rename(`${target}.tmp`, target)
            filesWritten++
          })
          await attempt("append history", async () => {
            await ensureFolder(historyDir)
            await appendFile(join(historyDir, file), lines.join("\n") + "\n")
            filesWritten++
          })
        }
        return errors
      }

      const flush = Effect.gen(function*() {
        if (pending.size === 0) return
        const batch = [...pending.values()].flatMap((resources) => [...resources.values()])
        pending = new Map()
        flushes++
        const wallOffsetMs = wallOffsetMillis(clock)
        const errors = yield* Effect.promise(async () => {
          const found: Array<string> = []
          for (let i = 0; i < batch.length; i += writeConcurrency) {
            const results = await Promise.all(batch.slice(i, i + writeConcurrency).map((entry) => writeOne(entry, wallOffsetMs)))
            for (const result of results) found.push(...result)
          }
          return found
        })
        if (errors.length === 0) return
        writeErrors += errors.length
        yield* logWriteError(Effect.logError("heartbeat files could not be written; the other resources' files were, monitoring goes on", {
          directory: options.directory,
          failures: errors.length,
          first: errors[0],
          ...(errors.length > 1 ? { second: errors[1] } : {})
        }))
      })

      yield* runWriteBehind(options.flushIntervalMs, flush)
      yield* liveCounter("heartbeat_files_written_total", "Heartbeat files written (current replaced, history appended)", () => filesWritten)
      yield* liveCounter("heartbeat_files_errors_total", "Heartbeat file writes or removals that failed", () => writeErrors)

      return HeartbeatFiles.of({
        flush,
        counters: () => ({ flushes, filesWritten, writeErrors })
      })
    })
  )
